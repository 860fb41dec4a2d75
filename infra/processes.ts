import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createConnection, createServer } from 'node:net';
import { groupListensOn } from './proc-fs.js';

/** A child process started by the lab, in its own process group, with output in a log file. */
export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Size of the log file when this process was launched: its own output starts there. */
  logStart: number;
  /** The spawned process; absent when the component runs in a container (infra/runtime/). */
  child?: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after graceMs; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once, as a crash would. */
  kill(): Promise<void>;
}

const running = new Set<ManagedProcess>();
let exitHookInstalled = false;

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Never leave a broker or a replica behind when the parent dies.
  process.on('exit', () => {
    for (const p of running) signalGroup(p.pid, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => process.exit(130));
  }
}

export interface LaunchOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  /** Keep running after this process exits (used by `npm run up`). */
  keepAfterExit?: boolean;
}

export function launch(name: string, command: string, args: string[], opts: LaunchOptions): ManagedProcess {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  // The child writes its log file itself, so it outlives this process without a broken pipe.
  const logFd = openSync(opts.logFile, 'a');
  const logStart = fstatSync(logFd).size;
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  if (child.pid === undefined) throw new Error(`${name}: failed to spawn ${command}`);
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const managed: ManagedProcess = {
    name,
    pid: child.pid,
    logFile: opts.logFile,
    logStart,
    child,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signalGroup(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signalGroup(child.pid!, 'SIGKILL');
      await exited;
    },
  };
  if (opts.keepAfterExit) {
    child.unref();
  } else {
    installExitHook();
    running.add(managed);
    void exited.then(() => running.delete(managed));
  }
  return managed;
}

/**
 * A TCP port that was free a moment ago on 127.0.0.1. Only a moment: another process can take it
 * before the child that was given it binds it (a JVM binds seconds later). Components started on
 * picked ports therefore pick again when that happens (`startOnPickedPorts`).
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Whether `port` on 127.0.0.1 can be bound at this moment. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * The first of `count` consecutive ports that were free a moment ago, for settings given as a base
 * plus n (WORKER_METRICS_PORT_BASE + 1, + 2, …). A random base can land on a port in use.
 */
export async function freeConsecutivePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const first = await freePort();
    let free = true;
    for (let n = 1; n < count && free; n++) free = await canBind(first + n);
    if (free) return first;
  }
  throw new Error(`no ${count} consecutive free ports found on 127.0.0.1`);
}

/** How a component picks the ports it was not given (tests replace it to force the race). */
export type PortPicker = (count: number) => Promise<number[]>;

/** The process exited because a port it was to listen on was taken. */
export class PortTakenError extends Error {}

/** Whether the process's own part of its log says a bind failed (JVM, Go and Node wordings). */
export function failedToBind(proc: ManagedProcess): boolean {
  try {
    return /address already in use|EADDRINUSE/i.test(readFileSync(proc.logFile).subarray(proc.logStart).toString('utf8'));
  } catch {
    return false;
  }
}

/**
 * Starts with `count` picked ports; when the process could not bind one of them (taken between the
 * pick and the bind: `start` throws PortTakenError), picks again, up to `attempts` times.
 */
export async function startOnPickedPorts<T>(count: number, pick: PortPicker, start: (ports: number[]) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await pick(count));
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= attempts) throw error;
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Thrown from a `waitFor` check to stop waiting at once (e.g. the process died). */
export class StopWaiting extends Error {}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 200 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      if (error instanceof StopWaiting) throw error;
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

export function portAcceptsConnections(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Throws StopWaiting once the process has exited: for `waitFor` checks. */
export function failIfExited(proc: ManagedProcess): () => void {
  let exitCode: number | string | undefined;
  void proc.exited.then((code) => (exitCode = code));
  return () => {
    if (exitCode !== undefined) throw new StopWaiting(`${proc.name} exited with ${exitCode}; see ${proc.logFile}`);
  };
}

/**
 * Waits until the process (or another of its process group) listens on the port, failing early if
 * it dies first: with a PortTakenError when it died because the port was taken. A connection that
 * another process accepts on that port does not count.
 */
export async function waitForPort(proc: ManagedProcess, port: number, timeoutMs = 30_000): Promise<void> {
  const checkAlive = failIfExited(proc);
  try {
    await waitFor(`${proc.name} on port ${port} (log: ${proc.logFile})`, async () => {
      checkAlive();
      return (await portAcceptsConnections(port)) && groupListensOn(proc.pid, port);
    }, { timeoutMs, intervalMs: 100 });
  } catch (error) {
    throw asPortTaken(error, proc, `port ${port} or another it was given`);
  }
}

/**
 * The error to throw when waiting on `proc` failed: a PortTakenError (the caller picks its ports
 * again) when it died because a port it was given was taken, else `error` itself.
 */
export function asPortTaken(error: unknown, proc: ManagedProcess, ports: string): unknown {
  return error instanceof StopWaiting && failedToBind(proc)
    ? new PortTakenError(`${proc.name} could not listen: address already in use (${ports}; log: ${proc.logFile})`)
    : error;
}
