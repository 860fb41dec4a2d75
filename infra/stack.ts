import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';
import { groupListensOn, startTimeOf } from './proc-fs.js';

/** Fixed, configurable ports of the stack that `npm run up` leaves running. */
export function stackPorts(env: NodeJS.ProcessEnv = process.env) {
  const num = (name: string, fallback: number) => Number(env[name] ?? fallback);
  return {
    kafka: num('KAFKA_PORT', 9092),
    kafkaController: num('KAFKA_CONTROLLER_PORT', 9093),
    kafkaProxiedListener: num('KAFKA_PROXIED_LISTENER_PORT', 9094),
    /** Toxiproxy listens here and forwards to the proxied listener, which advertises this port. */
    kafkaViaToxiproxy: num('KAFKA_TOXIPROXY_PORT', 19092),
    toxiproxy: num('TOXIPROXY_PORT', 8474),
    apis: (env.API_PORTS ?? '3001,3002,3003').split(',').map(Number),
    nginx: num('NGINX_PORT', 8080),
    /** Lab 05's schema registry (Apicurio; its Confluent-compatible API under /apis/ccompat/v7). */
    registry: num('SCHEMA_REGISTRY_PORT', 8081),
    /** worker-n serves /metrics and /traces on this base + n (9401, 9402, …). */
    workerMetricsBase: num('WORKER_METRICS_PORT_BASE', 9400),
    /** Lab 07 (`up -- --secure`): nginx's HTTPS port (NGINX_PORT then refuses plain HTTP) and the limit store. */
    nginxTls: num('NGINX_TLS_PORT', 8443),
    redis: num('REDIS_PORT', 6380),
    /** `npm run dashboard`. */
    dashboard: num('DASHBOARD_PORT', 8090),
  };
}

/** Where the running stack keeps its data, logs and pid files (ignored by git). */
export const runDir = process.env.CRM_LAB_RUN_DIR ?? join(repoRoot, '.run');

/**
 * What `up` recorded about a component it started: the pid and the process's start time, which
 * together identify it (a pid alone may have been given to another process since).
 */
export interface PidRecord {
  name: string;
  pid: number;
  /** Undefined in pid files written before start times were recorded: such a pid cannot be checked. */
  startTime?: string;
}

const pidDir = (root: string) => join(root, 'pids');

/** Records a component `up` started: `<pid> <start time>` in <runDir>/pids/<name>.pid. */
export function writePid(name: string, pid: number, root = runDir): void {
  mkdirSync(pidDir(root), { recursive: true });
  writeFileSync(join(pidDir(root), `${name}.pid`), `${pid} ${startTimeOf(pid) ?? ''}\n`);
}

export function readPids(root = runDir): PidRecord[] {
  try {
    return readdirSync(pidDir(root)).filter((file) => file.endsWith('.pid')).map((file) => {
      const [pid, startTime] = readFileSync(join(pidDir(root), file), 'utf8').trim().split(/\s+/);
      return { name: file.replace(/\.pid$/, ''), pid: Number(pid), startTime: startTime || undefined };
    });
  } catch {
    return [];
  }
}

export function removePid(name: string, root = runDir): void {
  rmSync(join(pidDir(root), `${name}.pid`), { force: true });
}

/** The recorded process is still running: same pid, same start time. */
export function isOurs(record: PidRecord): boolean {
  return record.startTime !== undefined && startTimeOf(record.pid) === record.startTime;
}

/** Some process has this pid (not necessarily the recorded one). */
export function pidInUse(pid: number): boolean {
  return startTimeOf(pid) !== undefined;
}

/** A process of the recorded component's group (it leads its own group) listens on the port. */
export function ownsPort(record: PidRecord, port: number): boolean {
  return isOurs(record) && groupListensOn(record.pid, port);
}
