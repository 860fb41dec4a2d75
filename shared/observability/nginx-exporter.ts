/**
 * nginx's own 429s as a Prometheus counter.
 *
 * nginx (open source) has no Prometheus endpoint, and a request that nginx's `limit_req`
 * rejects never reaches an API replica, so no replica can count it. nginx does write one
 * `[warn] … limiting requests, excess: … by zone "per_ip"` line to its error log for every
 * rejected request (`limit_req_log_level warn` in infra/nginx/nginx.conf.template). This
 * exporter counts those lines, reading only what was appended since the last scrape:
 * `nginx_rate_limited_total{source="nginx"}`. It counts from the moment it starts (not the
 * rejections already in the log), so a restart resets the counter instead of recounting.
 *
 * What it does not cover: nginx's requests that were passed on (the API replicas count those
 * in `http_requests_total`), and 502/504s nginx answers itself when no replica answers.
 *
 * `npm run nginx-exporter` serves it on NGINX_EXPORTER_PORT (default 9113) for the stack that
 * `npm run up` started (log: .run/nginx/error.log, or NGINX_ERROR_LOG).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter } from 'prom-client';
import { createRegistry, startMetricsServer, type Registry } from '../metrics.js';
import { runDir } from '../../infra/stack.js';

/** Does this error-log line record a request that limit_req rejected? */
export function isRateLimitRejection(line: string): boolean {
  return line.includes('[warn]') && line.includes('limiting requests, excess:');
}

/**
 * Counts the rejections appended to `errorLog` since the previous call.
 *
 * It starts at the end of the file as it is when the tail is created: a restarted exporter counts
 * only what nginx writes from then on, and its counter starts again at 0, a reset that Prometheus'
 * rate() and increase() expect from any restarted process. (Recounting the whole log would make the
 * counter jump by every rejection since nginx started; persisting the position would add a state
 * file for no gain in rate().) A log that does not exist yet is read from its first line once it
 * appears, as is a new file under the same name (rotation: another inode) or a truncated one.
 */
export function errorLogTail(errorLog: string): () => number {
  const current = () => {
    try {
      const { ino, size } = statSync(errorLog);
      return { ino, size };
    } catch {
      return undefined;
    }
  };
  const atStart = current();
  let inode = atStart?.ino;
  let offset = atStart?.size ?? 0;
  let partial = '';
  return () => {
    const file = current();
    if (!file) return 0;
    if (file.ino !== inode || file.size < offset) {
      inode = file.ino; // created, rotated or truncated: a new log, read from its start
      offset = 0;
      partial = '';
    }
    if (file.size === offset) return 0;
    const buffer = Buffer.alloc(file.size - offset);
    const fd = openSync(errorLog, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, offset);
    } finally {
      closeSync(fd);
    }
    offset = file.size;
    const lines = (partial + buffer.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    return lines.filter(isRateLimitRejection).length;
  };
}

/** Registers `nginx_rate_limited_total{source="nginx"}`, read from nginx's error log on each scrape. */
export function registerNginxRateLimitCounter(registry: Registry, errorLog: string): Counter<'source'> {
  const readNew = errorLogTail(errorLog);
  return new Counter({
    name: 'nginx_rate_limited_total',
    help: 'Requests nginx rejected with 429 (limit_req), counted from its error log.',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      this.inc({ source: 'nginx' }, readNew());
    },
  });
}

/** A registry with the nginx counter, served over HTTP at /metrics. */
export async function startNginxExporter(opts: { errorLog: string; port?: number }) {
  const registry = createRegistry();
  registerNginxRateLimitCounter(registry, opts.errorLog);
  return startMetricsServer(registry, { port: opts.port });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const errorLog = process.env.NGINX_ERROR_LOG ?? join(runDir, 'nginx', 'error.log');
  const server = await startNginxExporter({ errorLog, port: Number(process.env.NGINX_EXPORTER_PORT ?? 9113) });
  console.log(`nginx exporter: ${server.url}/metrics (counting rejections in ${errorLog})`);
}
