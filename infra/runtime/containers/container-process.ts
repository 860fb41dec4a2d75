import { execFileSync } from 'node:child_process';
import { appendFileSync, createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { sleep, type ManagedProcess } from '../../processes.js';
import { ownerLabel, runLabel } from './images.js';

export interface ContainerSpec {
  name: string;
  image: string;
  /** Replaces the image's entrypoint (default: the image's own). */
  entrypoint?: string[];
  /** Replaces the image's command. */
  command: string[];
  env?: Record<string, string>;
  /** Host folders mounted at the same path, so paths in configs mean the same inside. */
  sharedDirs?: string[];
  workingDir?: string;
  /** The container's stdout and stderr are appended here, as a native process' output is. */
  logFile: string;
}

// No Ryuk (its image cannot be pulled here): every container is removed by stop/kill or the exit hook.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';

const running = new Set<string>();
let exitHookInstalled = false;
let counter = 0;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Never leave a container behind when the parent dies (the native runtime kills its process groups).
  process.on('exit', () => {
    if (running.size === 0) return;
    try {
      execFileSync('docker', ['rm', '-f', ...running], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => process.exit(130));
  }
}

/** What a native process' exit promise would say: the code, or the signal's name for 128 + n. */
function exitStatus(statusCode: number): number | string {
  if (statusCode <= 128) return statusCode;
  const signal = Object.entries(constants.signals).find(([, n]) => n === statusCode - 128)?.[0];
  return signal ?? statusCode;
}

/** Checked first: testcontainers would otherwise try to pull it, from a registry that does not answer. */
async function imageExists(image: string): Promise<boolean> {
  const { getContainerRuntimeClient, ImageName } = await import('testcontainers');
  const client = await getContainerRuntimeClient();
  return client.image.exists(ImageName.fromString(image));
}

/**
 * Starts a container on the host's network and returns it as a ManagedProcess at once (like a
 * spawned process); a failed start shows as an exit with the reason, which the starters' waits report.
 */
export function runContainer(spec: ContainerSpec): ManagedProcess {
  installExitHook();
  const containerName = `crm-lab-${spec.name}-${process.pid}-${++counter}`;
  // One the process would create itself (a Kafka Streams state folder) is made here, on the host, as natively.
  for (const dir of spec.sharedDirs ?? []) mkdirSync(dir, { recursive: true });
  mkdirSync(dirname(spec.logFile), { recursive: true });
  // The container's output is appended after what the file holds now (a restarted component's log).
  const logStart = existsSync(spec.logFile) ? statSync(spec.logFile).size : 0;
  let resolveExit!: (status: number | string) => void;
  const exited = new Promise<number | string>((resolve) => (resolveExit = resolve));
  let resolveLogWritten!: () => void;
  const logWrittenOut = new Promise<void>((resolve) => (resolveLogWritten = resolve));
  let pid = 0;
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const started: Promise<StartedTestContainer | undefined> = (async () => {
    if (!(await imageExists(spec.image))) {
      throw new Error(`image ${spec.image} is missing: run bash infra/images/build.sh`);
    }
    const { GenericContainer, getContainerRuntimeClient } = await import('testcontainers');
    let definition = new GenericContainer(spec.image)
      .withName(containerName)
      .withNetworkMode('host')
      .withLabels({ [ownerLabel]: String(process.pid), [runLabel]: process.env.CRM_LAB_RUN_ID ?? 'none' })
      .withEnvironment(spec.env ?? {})
      // Each folder once: the engine refuses a mount point given twice.
      .withBindMounts([...new Set(spec.sharedDirs ?? [])].map((dir) => ({ source: dir, target: dir, mode: 'rw' as const })))
      .withCommand(spec.command)
      .withLogConsumer((stream) => {
        const file = createWriteStream(spec.logFile, { flags: 'a' });
        stream.pipe(file);
        file.once('close', () => resolveLogWritten());
      });
    if (spec.workingDir) definition = definition.withWorkingDir(spec.workingDir);
    if (spec.entrypoint) definition = definition.withEntrypoint(spec.entrypoint);
    running.add(containerName);
    const container = await definition.start();
    const client = await getContainerRuntimeClient();
    const handle = client.container.getById(container.getId());
    pid = (await handle.inspect()).State.Pid;
    // The exit is reported once its last output is in the log file (a native process's is there
    // when it exits): failedToBind reads it to tell a taken port from another failure.
    const logWritten = () => Promise.race([logWrittenOut, sleep(2_000)]);
    void handle.wait().then(
      async ({ StatusCode }: { StatusCode: number }) => {
        await logWritten();
        resolveExit(exitStatus(StatusCode));
      },
      async () => {
        await logWritten();
        resolveExit('removed');
      },
    );
    return container;
  })().catch((error: unknown) => {
    // Left in `running`: a container created before the failure is removed on exit.
    appendFileSync(spec.logFile, `[runtime] container ${containerName} did not start: ${String(error)}\n`);
    resolveExit(`container did not start: ${String(error)}`);
    return undefined;
  });

  /** docker stop (a no-op once it has exited) and docker rm, once the exit has been seen. */
  const stopAndRemove = async (container: StartedTestContainer, graceMs: number) => {
    await container.stop({ timeout: graceMs, remove: true, removeVolumes: true }).catch(() => undefined);
    await exited;
    running.delete(containerName);
  };

  /** Its init process, seen from the host: as immediate as killing a native process (the tests kill mid-batch). */
  const sigkill = async (container: StartedTestContainer) => {
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
        return;
      } catch {
        /* not ours to signal: ask the engine */
      }
    }
    const { getContainerRuntimeClient } = await import('testcontainers');
    const client = await getContainerRuntimeClient();
    await client.container.getById(container.getId()).kill({ signal: 'SIGKILL' }).catch(() => undefined);
  };

  return {
    name: spec.name,
    /** Its init process seen from the host (0 until it runs): the leader of its process group, as a native process is. */
    get pid() {
      return pid;
    },
    logFile: spec.logFile,
    logStart,
    exited,
    /** docker stop: SIGTERM, then SIGKILL after graceMs; then the container is removed. */
    async stop(graceMs = 10_000) {
      const container = await started;
      if (container) await stopAndRemove(container, graceMs);
    },
    /** SIGKILL at once, as a crash would; then the container is removed. */
    async kill() {
      const container = await started;
      if (!container) return;
      if (!hasExited) await sigkill(container); // once exited, its pid may be another process's
      await stopAndRemove(container, 0);
    },
  };
}
