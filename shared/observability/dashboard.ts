/**
 * `npm run dashboard`: a live view of the running system at http://127.0.0.1:8090 (DASHBOARD_PORT).
 *
 * The server scrapes the API replicas' and the workers' /metrics every second (and counts
 * nginx's 429s from its error log, see nginx-exporter.ts), keeps the last two minutes, and
 * serves them as JSON at /api/series; the page (dashboard.html: plain HTML, inline SVG, no
 * build step) plots accepted events/s, the p99 latency of POST /track and the consumer lag, and —
 * when a lab 08 `npm run region -- metrics` target is given — the replication lag A → B.
 * It also serves the nginx counter at /metrics, for a Prometheus server to scrape, and — as a
 * fallback for workers that serve no metrics — the group's lag read from the broker.
 *
 * Targets default to the stack `npm run up` starts (API_PORTS, WORKER_METRICS_PORT_BASE + n for
 * WORKERS workers, .run/nginx/error.log); DASHBOARD_API_TARGETS and DASHBOARD_WORKER_TARGETS
 * (comma-separated base URLs) and NGINX_ERROR_LOG override them; DASHBOARD_REGION_TARGETS (the same,
 * e.g. http://127.0.0.1:9464) adds lab 08's replication lag, shown only then.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDir, stackPorts } from '../../infra/stack.js';
import type { Admin } from 'kafkajs';
import { loadConfig } from '../config.js';
import { createKafka } from '../kafka.js';
import { createRegistry, metricsContentType, registerKafkaGauges } from '../metrics.js';
import { registerNginxRateLimitCounter } from './nginx-exporter.js';
import { bucketDelta, histogramBuckets, histogramQuantile, parsePrometheusText, scrape, select, sum, type Sample } from './prom-text.js';

const here = dirname(fileURLToPath(import.meta.url));

/** One point of the plotted series. Rates are per second over the last interval. */
export interface DashboardPoint {
  /** Epoch ms of the scrape. */
  t: number;
  /** POST /track answered 202, per second. */
  acceptedPerS: number;
  /** Events the workers processed, per second. */
  processedPerS: number;
  /** 429s (nginx + API) per second. */
  rejectedPerS: number;
  /** p99 of POST /track over the last `windowS` seconds, in ms; null without requests. */
  p99Ms: number | null;
  /** Consumer lag summed over partitions (each partition once, whichever worker reports it); null without a worker. */
  lag: number | null;
  /** Lab 08: records region A holds that B lacks (`mirror_replication_lag_records`, summed); null without a region target. */
  replicationLag: number | null;
  /** Totals since the processes started. */
  accepted: number;
  processed: number;
  rejected: number;
}

export interface DashboardOptions {
  /** Base URLs of the API replicas (their /metrics is scraped). */
  apis: string[];
  /** Base URLs of the workers' metrics servers. */
  workers: string[];
  /** Base URLs of lab 08's `npm run region -- metrics` servers; none: no replication card. */
  regions?: string[];
  /** nginx's error log, to count its 429s; none: nginx's 429s are not shown. */
  nginxErrorLog?: string;
  /**
   * Read the group's lag (and the DLQ depth) from the broker itself, into the dashboard's own
   * /metrics, for when no worker serves metrics (e.g. a worker started without METRICS_PORT).
   * The workers' reports are used whenever there are some.
   */
  kafka?: { admin: Admin; groupId: string; topic: string; dlqTopic: string; retryTopic?: string };
  port?: number;
  host?: string;
  intervalMs?: number;
  /** p99 window. Default 10 s. */
  windowS?: number;
  /** Points kept. Default 120. */
  keep?: number;
}

interface Snapshot {
  t: number;
  accepted: number;
  processed: number;
  rejected: number;
  buckets: { le: number; count: number }[];
  lag: number | null;
  replicationLag: number | null;
}

async function scrapeAll(urls: string[]): Promise<{ samples: Sample[]; up: Record<string, boolean> }> {
  const results = await Promise.allSettled(urls.map((url) => scrape(`${url}/metrics`, 2_000)));
  const up: Record<string, boolean> = {};
  const samples: Sample[] = [];
  results.forEach((r, i) => {
    up[urls[i]!] = r.status === 'fulfilled';
    if (r.status === 'fulfilled') samples.push(...r.value);
  });
  return { samples, up };
}

/** Lag per partition is reported by every worker: the largest report per partition, summed. */
export function groupLag(samples: Sample[]): number | null {
  const lag = select(samples, 'kafka_consumer_lag');
  if (lag.length === 0) return null;
  const byPartition = new Map<string, number>();
  for (const s of lag) {
    const key = `${s.labels.group}/${s.labels.topic}/${s.labels.partition}`;
    byPartition.set(key, Math.max(byPartition.get(key) ?? 0, s.value));
  }
  return [...byPartition.values()].reduce((a, b) => a + b, 0);
}

export interface Dashboard {
  url: string;
  server: Server;
  points(): DashboardPoint[];
  close(): Promise<void>;
}

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const intervalMs = o.intervalMs ?? 1_000;
  const windowS = o.windowS ?? 10;
  const keep = o.keep ?? 120;
  const ownRegistry = createRegistry();
  if (o.nginxErrorLog) registerNginxRateLimitCounter(ownRegistry, o.nginxErrorLog);
  if (o.kafka) registerKafkaGauges(ownRegistry, o.kafka.admin, o.kafka);
  const html = readFileSync(join(here, 'dashboard.html'), 'utf8');

  const snapshots: Snapshot[] = [];
  const points: DashboardPoint[] = [];
  let up: Record<string, boolean> = {};

  const tick = async () => {
    const [apis, workers, regions, nginxText] = await Promise.all([
      scrapeAll(o.apis), scrapeAll(o.workers), scrapeAll(o.regions ?? []), ownRegistry.metrics()]);
    up = { ...apis.up, ...workers.up, ...regions.up };
    const nginx = parsePrometheusText(nginxText);
    const now: Snapshot = {
      t: Date.now(),
      accepted: sum(apis.samples, 'http_requests_total', { route: '/track', status: '202' }),
      processed: sum(workers.samples, 'events_processed_total'),
      rejected: sum(apis.samples, 'rate_limited_total') + sum(nginx, 'nginx_rate_limited_total'),
      buckets: histogramBuckets(apis.samples, 'http_request_duration_seconds', { route: '/track' }),
      lag: groupLag(workers.samples) ?? groupLag(nginx),
      replicationLag: o.regions?.length && select(regions.samples, 'mirror_replication_lag_records').length
        ? sum(regions.samples, 'mirror_replication_lag_records') : null,
    };
    const previous = snapshots.at(-1);
    snapshots.push(now);
    // The oldest snapshot within the p99 window.
    while (snapshots.length > 1 && snapshots[0]!.t < now.t - windowS * 1000) snapshots.shift();
    const windowStart = snapshots[0]!;
    if (!previous) return;
    const dt = (now.t - previous.t) / 1000;
    // A restarted process starts its counters again from 0: never a negative rate.
    const rate = (a: number, b: number) => Math.max(0, a - b) / dt;
    const p99 = histogramQuantile(0.99, windowStart === now ? now.buckets : bucketDelta(now.buckets, windowStart.buckets));
    points.push({
      t: now.t,
      acceptedPerS: rate(now.accepted, previous.accepted),
      processedPerS: rate(now.processed, previous.processed),
      rejectedPerS: rate(now.rejected, previous.rejected),
      p99Ms: Number.isFinite(p99) ? p99 * 1000 : null,
      lag: now.lag,
      replicationLag: now.replicationLag,
      accepted: now.accepted,
      processed: now.processed,
      rejected: now.rejected,
    });
    if (points.length > keep) points.shift();
  };

  let running = true;
  let timer: NodeJS.Timeout | undefined;
  const loop = async () => {
    try {
      await tick();
    } catch {
      /* a scrape that failed is shown as a target down */
    }
    if (running) timer = setTimeout(loop, intervalMs);
  };
  void loop();

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    } else if (path === '/api/series') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify({ intervalMs, windowS, targets: up, nginx: Boolean(o.nginxErrorLog), regions: Boolean(o.regions?.length), points }));
    } else if (path === '/metrics') {
      void ownRegistry.metrics().then((body) => res.writeHead(200, { 'content-type': metricsContentType }).end(body));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', resolve);
  });
  const url = `http://${o.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  return {
    url,
    server,
    points: () => [...points],
    close: () => new Promise<void>((resolve) => {
      running = false;
      clearTimeout(timer);
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ports = stackPorts();
  const list = (value: string | undefined) => value?.split(',').map((s) => s.trim()).filter(Boolean);
  const workers = Number(process.env.WORKERS ?? 2);
  const config = loadConfig();
  const admin = createKafka(config.kafkaBrokers, 'crm-lab-dashboard').admin();
  await admin.connect();
  const dashboard = await startDashboard({
    kafka: { admin, groupId: config.CONSUMER_GROUP, topic: config.KAFKA_TOPIC, dlqTopic: config.KAFKA_DLQ_TOPIC, retryTopic: config.KAFKA_RETRY_TOPIC },
    apis: list(process.env.DASHBOARD_API_TARGETS) ?? ports.apis.map((p) => `http://127.0.0.1:${p}`),
    workers: list(process.env.DASHBOARD_WORKER_TARGETS)
      ?? Array.from({ length: workers }, (_, i) => `http://127.0.0.1:${ports.workerMetricsBase + i + 1}`),
    regions: list(process.env.DASHBOARD_REGION_TARGETS),
    nginxErrorLog: process.env.NGINX_ERROR_LOG ?? join(runDir, 'nginx', 'error.log'),
    port: ports.dashboard,
  });
  console.log(`dashboard: ${dashboard.url}  (Ctrl-C to stop)`);
}
