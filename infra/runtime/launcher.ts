import type { ManagedProcess } from '../processes.js';
import { containersLauncher } from './containers/launcher.js';
import { nativeLauncher } from './native.js';
import { labRuntime, type LabRuntime } from './runtime.js';

/**
 * The one step that differs between the runtimes: starting a component's process. The starters
 * (infra/kafka.ts, toxiproxy.ts, nginx.ts, api.ts, worker.ts, registry.ts, kafka-streams.ts,
 * redis.ts, mirror-maker.ts) choose ports, write configs and
 * wait for readiness the same way for both; every component listens on 127.0.0.1 either way
 * (containers use the host's network), so the tests cannot tell the difference.
 */
export interface ComponentLauncher {
  runtime: LabRuntime;
  /** One KRaft node from a server.properties in `dataDir`; formats the storage on its first start. */
  kafkaNode(o: {
    name: string; dataDir: string; propsFile: string; log4jFile: string; heapMb: number; clusterId: string;
    logFile: string; keepAfterExit: boolean;
  }): Promise<ManagedProcess>;
  toxiproxy(o: { port: number; logFile: string; keepAfterExit?: boolean }): ManagedProcess;
  /** nginx in the foreground with `confFile`, its pid, logs and temp files under `prefix`. */
  nginx(o: { prefix: string; confFile: string; logFile: string; keepAfterExit?: boolean }): ManagedProcess;
  /**
   * A lab process (API replica or worker) running `entry` (a .ts file, relative to the repo root).
   * `env` is added to the parent's environment; `sharedDirs` are host folders it reads or writes.
   */
  labProcess(o: {
    name: string; entry: string; env: NodeJS.ProcessEnv; logFile: string; sharedDirs?: string[]; keepAfterExit?: boolean;
  }): ManagedProcess;
  /**
   * `java <args>`: a JVM app (lab 05's schema registry, lab 06's Kafka Streams apps, lab 08's MirrorMaker 2). `sharedDirs`
   * are the host folders it reads or writes (jars, classes, data), `cwd` its working folder;
   * `env` is added to the parent's environment.
   */
  jvm(o: {
    name: string; args: string[]; sharedDirs: string[]; logFile: string; cwd?: string; env?: NodeJS.ProcessEnv; keepAfterExit?: boolean;
  }): ManagedProcess;
  /** `redis-server <args>` (lab 07's rate-limit store), `dir` its working folder (its `--dir`). */
  redis(o: { args: string[]; dir: string; logFile: string; keepAfterExit?: boolean }): ManagedProcess;
}

/** The launcher LAB_RUNTIME selects. */
export function launcher(): ComponentLauncher {
  return labRuntime() === 'containers' ? containersLauncher : nativeLauncher;
}
