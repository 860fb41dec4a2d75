import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

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
    /** worker-n serves /metrics and /traces on this base + n (9401, 9402, …). */
    workerMetricsBase: num('WORKER_METRICS_PORT_BASE', 9400),
    /** `npm run dashboard`. */
    dashboard: num('DASHBOARD_PORT', 8090),
  };
}

/** Where the running stack keeps its data, logs and pid files (ignored by git). */
export const runDir = process.env.CRM_LAB_RUN_DIR ?? join(repoRoot, '.run');

export function writePid(name: string, pid: number): void {
  mkdirSync(join(runDir, 'pids'), { recursive: true });
  writeFileSync(join(runDir, 'pids', `${name}.pid`), String(pid));
}

export function readPids(): { name: string; pid: number }[] {
  try {
    return readdirSync(join(runDir, 'pids')).map((file) => ({
      name: file.replace(/\.pid$/, ''),
      pid: Number(readFileSync(join(runDir, 'pids', file), 'utf8')),
    }));
  } catch {
    return [];
  }
}

export function removePid(name: string): void {
  rmSync(join(runDir, 'pids', `${name}.pid`), { force: true });
}

/** The process exists (signal 0 checks without touching it). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
