import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failIfExited, freePorts, startOnPickedPorts, waitFor, waitForPort, type ManagedProcess, type PortPicker } from './processes.js';
import { launcher } from './runtime/launcher.js';

export interface ApiReplica {
  id: string;
  port: number;
  url: string;
  env: NodeJS.ProcessEnv;
  entry?: string;
  process: ManagedProcess;
}

/**
 * Starts one API replica (labs/01-ingest/src/server.ts) as its own process and waits for /ready,
 * served by that process. On a picked port (no `port` given), a port taken before the replica binds
 * it is picked again.
 */
export async function startApiReplica(opts: {
  id: string;
  brokers: string[];
  port?: number;
  env?: NodeJS.ProcessEnv;
  logDir?: string;
  keepAfterExit?: boolean;
  /** How the port is picked when none is given. Default freePorts. */
  pickPorts?: PortPicker;
  /** The replica's program, relative to the repo root. Default lab 01's; lab 07's is labs/07-security/src/server.ts. */
  entry?: string;
}): Promise<ApiReplica> {
  const logDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'crm-api-'));
  const pick: PortPicker = opts.port === undefined ? (opts.pickPorts ?? freePorts) : async () => [opts.port!];
  return startOnPickedPorts(1, pick, async ([port]) => {
    const env: NodeJS.ProcessEnv = {
      LOG_LEVEL: 'warn',
      // Its own log file keeps kafkajs' warnings, whatever the parent's level.
      KAFKAJS_LOG_LEVEL: 'warn',
      ...opts.env,
      API_PORT: String(port),
      API_INSTANCE_ID: opts.id,
      KAFKA_BROKERS: opts.brokers.join(','),
    };
    const proc = launcher().labProcess({ name: opts.id, entry: opts.entry ?? 'labs/01-ingest/src/server.ts', env,
      logFile: join(logDir, `${opts.id}.log`), keepAfterExit: opts.keepAfterExit });
    // Its own listener first: an answer from whatever else holds the port does not count.
    await waitForPort(proc, port!, 60_000);
    const url = `http://127.0.0.1:${port}`;
    const checkAlive = failIfExited(proc);
    await waitFor(`${opts.id} /ready (log: ${proc.logFile})`, async () => {
      checkAlive();
      const response = await fetch(`${url}/ready`);
      return response.status === 200;
    }, { timeoutMs: 60_000 });
    return { id: opts.id, port: port!, url, env, entry: opts.entry, process: proc };
  }, opts.port === undefined ? 3 : 1);
}

/** Restarts a replica on the same port with the same settings. */
export function restartApiReplica(replica: ApiReplica): Promise<ApiReplica> {
  return startApiReplica({ id: replica.id, brokers: String(replica.env.KAFKA_BROKERS).split(','), port: replica.port, env: replica.env, entry: replica.entry });
}
