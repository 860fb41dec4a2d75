/**
 * nginx's own 429s as a Prometheus counter.
 *
 * nginx (open source) has no Prometheus endpoint, and a request that nginx's `limit_req`
 * rejects never reaches an API replica, so no replica can count it. nginx does write one
 * `[warn] … limiting requests, excess: … by zone "per_ip"` line to its error log for every
 * rejected request (`limit_req_log_level warn` in infra/nginx/nginx.conf.template). This
 * exporter counts those lines, reading only what was appended since the last scrape:
 * `nginx_rate_limited_total{source="nginx"}`.
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

/** Counts the rejections appended to `errorLog` since the previous call (0 while the file does not exist). */
export function errorLogTail(errorLog: string): () => number {
  let offset = 0;
  let partial = '';
  return () => {
    let size: number;
    try {
      size = statSync(errorLog).size;
    } catch {
      return 0;
    }
    if (size < offset) {
      offset = 0; // rotated or truncated
      partial = '';
    }
    if (size === offset) return 0;
    const buffer = Buffer.alloc(size - offset);
    const fd = openSync(errorLog, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, offset);
    } finally {
      closeSync(fd);
    }
    offset = size;
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
