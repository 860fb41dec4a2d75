import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiMetrics } from '../../../shared/metrics.js';

/**
 * Counts and times each answered request in `http_requests_total` and `http_request_duration_seconds`
 * (route, method, status). The labelled children are made once per label set, not a label object
 * per request and metric (prom-client still hashes the labels on each call).
 */
export function httpObserver(metrics: ApiMetrics): (route: string, method: string, status: number, elapsedMs: number) => void {
  const children = new Map<string, { count: () => void; time: (seconds: number) => void }>();
  return (route, method, status, elapsedMs) => {
    const key = `${route} ${method} ${status}`;
    let child = children.get(key);
    if (!child) {
      const labels = { route, method, status: String(status) };
      const counter = metrics.httpRequests.labels(labels);
      const histogram = metrics.httpDuration.labels(labels);
      child = { count: () => counter.inc(), time: (seconds) => histogram.observe(seconds) };
      children.set(key, child);
    }
    child.count();
    child.time(elapsedMs / 1000);
  };
}

/**
 * One log line per request that was refused or failed (status ≥ 400), at info, and one per request at
 * debug — in place of Fastify's two lines for every request (`disableRequestLogging`). A 2xx at info
 * level costs nothing here: pino's debug() is a no-op below its level.
 */
export function requestLog(request: FastifyRequest, reply: FastifyReply): void {
  const fields = { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
  if (reply.statusCode >= 400) request.log.info(fields, 'request refused or failed');
  else request.log.debug(fields, 'request completed');
}
