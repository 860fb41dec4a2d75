/**
 * The steps `npm run up` (infra/up.ts) and lab 07's secure stack share: start a component unless
 * the one the last `up` started still runs, refuse a port some other process holds, and keep the
 * stacks (plain, `--avro` and `--secure`) from being mixed in one run folder.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Toxiproxy } from 'toxiproxy-node-client';
import { portAcceptsConnections, waitForPort, type ManagedProcess } from './processes.js';
import { commandLineOf, listenersOf } from './proc-fs.js';
import { isOurs, ownsPort, readPids, runDir, writePid } from './stack.js';
import { startToxiproxy } from './toxiproxy.js';
import type { WorkerProcess } from './worker.js';

/** The variable that moves each component's port, for the refusal message. */
const portVariable = (name: string) =>
  name === 'kafka' ? 'KAFKA_PORT' : name === 'toxiproxy' ? 'TOXIPROXY_PORT' : name === 'nginx' ? 'NGINX_PORT'
    : name === 'registry' ? 'SCHEMA_REGISTRY_PORT' : name === 'redis' ? 'REDIS_PORT'
      : name.startsWith('worker') ? 'WORKER_METRICS_PORT_BASE' : 'API_PORTS';

/** Stops `up` with an `{error, message}` line on stderr. */
export function refuse(error: string, message: string): never {
  console.error(JSON.stringify({ error, message }));
  process.exit(1);
}

export async function refuseForeignHolder(name: string, port: number): Promise<void> {
  if (!(await portAcceptsConnections(port))) return;
  const holders = listenersOf(port).map((pid) => `pid ${pid}: ${commandLineOf(pid) || '?'}`);
  refuse('port_in_use', `port ${port} (${name}) is held by another process (${holders.join('; ') || 'owner not visible to this user'}), `
    + `not by the ${name} this lab started: stop it, or move ${name} to another port (${portVariable(name)})`);
}

/**
 * Starts the component unless the one the last `up` started is still running and listening on
 * its port. A port held by anything else is refused, naming the port and its holder: `up` would
 * otherwise take a stranger for its own component. Returns whether it started it.
 */
export async function ensure(name: string, port: number, start: () => Promise<ManagedProcess>): Promise<boolean> {
  const record = readPids().find((p) => p.name === name);
  if (record && ownsPort(record, port)) {
    console.log(`  ${name.padEnd(10)} already running on port ${port} (pid ${record.pid})`);
    return false;
  }
  await refuseForeignHolder(name, port);
  if (record && isOurs(record)) {
    refuse('component_not_listening', `${name} (pid ${record.pid}) from an earlier up is running but not listening on port ${port}: `
      + 'run npm run down, then npm run up');
  }
  const proc = await start();
  writePid(name, proc.pid);
  console.log(`  ${name.padEnd(10)} started (pid ${proc.pid}, log ${proc.logFile})`);
  return true;
}

/**
 * Starts worker `id` unless the process the last `up` started for it still runs (same pid, same
 * start time). Its metrics server listens once it has started: a worker that dies on start fails here.
 */
export async function ensureWorker(id: string, metricsPort: number, start: () => WorkerProcess): Promise<void> {
  const previous = readPids().find((p) => p.name === id);
  if (previous && isOurs(previous)) {
    console.log(`  ${id.padEnd(10)} already running (pid ${previous.pid})`);
    return;
  }
  await refuseForeignHolder(id, metricsPort);
  const worker = start();
  writePid(id, worker.process.pid);
  await waitForPort(worker.process, metricsPort, 60_000);
  console.log(`  ${id.padEnd(10)} started (pid ${worker.process.pid}, log ${worker.process.logFile})`);
}

/** Toxiproxy, with its proxy "kafka" from `listenPort` to the broker's proxied listener. */
export async function ensureKafkaProxy(o: { port: number; listenPort: number; upstreamPort: number; logDir: string }): Promise<void> {
  await ensure('toxiproxy', o.port, async () => (await startToxiproxy({ port: o.port, logDir: o.logDir, keepAfterExit: true })).process);
  const toxiproxy = new Toxiproxy(`http://127.0.0.1:${o.port}`);
  if (!(await toxiproxy.getAll()).kafka) {
    await toxiproxy.createProxy({ name: 'kafka', listen: `127.0.0.1:${o.listenPort}`, upstream: `127.0.0.1:${o.upstreamPort}` });
  }
}

export type StackMode = 'plain' | 'avro' | 'secure';
const modeFile = (root: string) => join(root, 'stack-mode');

/**
 * Records which stack this run folder holds. They share ports and pid names, so a component
 * still running from another one is refused: its Kafka would take the other's clients, and a
 * JSON replica left running would feed Avro workers the records of the other format.
 */
export function claimStackMode(mode: StackMode, root = runDir): void {
  const current = existsSync(modeFile(root)) ? (readFileSync(modeFile(root), 'utf8').trim() as StackMode) : 'plain';
  const running = readPids(root).filter(isOurs).map((p) => p.name);
  if (current !== mode && running.length > 0) {
    refuse('stack_mode_mismatch', `the ${current} stack is running (${running.join(', ')}): run npm run down, then npm run up${mode === 'plain' ? '' : ` -- --${mode}`}`);
  }
  mkdirSync(root, { recursive: true });
  writeFileSync(modeFile(root), `${mode}\n`);
}
