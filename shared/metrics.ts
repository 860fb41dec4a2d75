/**
 * Prometheus metrics (prom-client) shared by the API replicas and the workers.
 *
 * Every process has its own {@link Registry} (never prom-client's global one), so several APIs
 * built in one test process keep separate counts. The names are what docs/alerts.yml and the
 * dashboard (shared/observability) query:
 *
 * | process | metric | type | labels |
 * |---|---|---|---|
 * | API | `http_requests_total` | counter | route, method, status |
 * | API | `http_request_duration_seconds` | histogram | route, method, status |
 * | API | `rate_limited_total` | counter | source (`api`) |
 * | API | `rate_limit_store_errors_total` | counter | outcome (`allowed`, `refused`): lab 07's Redis limit store failed |
 * | API | `kafka_produce_duration_seconds` | histogram | topic |
 * | API | `kafka_produce_failures_total` | counter | topic |
 * | worker | `events_processed_total` | counter | result (`applied`, `duplicate`) |
 * | worker | `event_processing_duration_seconds` | histogram | |
 * | worker | `processing_failures_total` | counter | |
 * | worker | `retries_total` | counter | (incremented by lab 04's retry wrapper) |
 * | worker | `kafka_consumer_lag` | gauge | group, topic, partition (read from the broker on scrape) |
 * | worker | `dlq_depth` | gauge | topic (dead letters not replayed yet, read on scrape) |
 * | worker | `retry_topic_depth` | gauge | topic (events waiting in lab 04's retry topic, read on scrape) |
 * | nginx exporter | `nginx_rate_limited_total` | counter | source (`nginx`), counted from nginx's error log |
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Admin } from 'kafkajs';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { dlqReplayGroupOf, retryGroupOf } from './config.js';
import { consumerLag, totalLag } from './lag.js';

export { Registry };

/** Latency buckets (seconds) from 1 ms to 10 s: fine enough around the 100 ms p95 alert. */
export const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10];

/** A fresh registry for one process; `defaults` adds Node's process metrics (CPU, heap, event loop lag). */
export function createRegistry(opts: { defaults?: boolean; labels?: Record<string, string> } = {}): Registry {
  const registry = new Registry();
  if (opts.labels) registry.setDefaultLabels(opts.labels);
  if (opts.defaults) collectDefaultMetrics({ register: registry });
  return registry;
}

/** The API's metrics: what /track receives, answers and how long Kafka takes to ack. */
export function createApiMetrics(registry: Registry = createRegistry()) {
  return {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by route (the route pattern, "unmatched" for 404s), method and status code.',
      labelNames: ['route', 'method', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving the request to sending the response, by route, method and status code.',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'rate_limited_total',
      help: 'Requests rejected with 429 by a rate limiter; source="api" is @fastify/rate-limit in this replica.',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
    rateLimitStoreErrors: new Counter({
      name: 'rate_limit_store_errors_total',
      help: 'Lab 07: requests whose per-customer limit could not be checked (Redis unreachable or slow), by what the replica did: allowed (fail-open) or refused (fail-closed).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    produceDuration: new Histogram({
      name: 'kafka_produce_duration_seconds',
      help: 'Time from producer.send to the broker\'s ack (acks=all), for acked writes.',
      labelNames: ['topic'] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    producerBatchEvents: new Histogram({
      name: 'kafka_producer_batch_events',
      help: 'Events per produce request sent by this replica\'s batching publisher (PRODUCER_LINGER_MS).',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers: [registry],
    }),
    produceFailures: new Counter({
      name: 'kafka_produce_failures_total',
      help: 'Writes Kafka did not ack in time or rejected (the API answered 503).',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/** The worker's metrics. `retries` and the DLQ gauge are defined here so lab 04 can use them too. */
export function createWorkerMetrics(registry: Registry = createRegistry()) {
  return {
    registry,
    eventsProcessed: new Counter({
      name: 'events_processed_total',
      help: 'Events processed to the end, by result: applied to a profile, or a duplicate event_id skipped.',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    processingDuration: new Histogram({
      name: 'event_processing_duration_seconds',
      help: 'Time to process one event (parse, validate, apply to the profile store), including failed attempts.',
      buckets: latencyBuckets,
      registers: [registry],
    }),
    processingFailures: new Counter({
      name: 'processing_failures_total',
      help: 'Attempts to process an event that threw (the offset stays uncommitted).',
      registers: [registry],
    }),
    retries: new Counter({
      name: 'retries_total',
      help: 'Processing attempts repeated after a failure (lab 04\'s retry policy).',
      registers: [registry],
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/**
 * Gauges read from the broker at scrape time: `kafka_consumer_lag{group,topic,partition}`
 * (shared/lag.ts `consumerLag`, the same numbers `npm run lag` prints) and
 * `dlq_depth{topic}` (dead letters not replayed yet: the lag of the DLQ replay group, summed
 * over partitions; 0 while the topic does not exist) and, given `retryTopic`, `retry_topic_depth{topic}`
 * (the retry group's lag on it, the same way). A failed read keeps the last values.
 */
export function registerKafkaGauges(registry: Registry, admin: Admin, o: { groupId: string; topic: string; dlqTopic: string; retryTopic?: string; onError?: (error: unknown) => void }) {
  const lag = new Gauge({
    name: 'kafka_consumer_lag',
    help: 'Consumer lag per partition: log end offset minus the group\'s committed offset (read from the broker on scrape).',
    labelNames: ['group', 'topic', 'partition'] as const,
    registers: [registry],
    async collect() {
      try {
        for (const p of await consumerLag(admin, o.groupId, o.topic)) {
          this.set({ group: o.groupId, topic: o.topic, partition: String(p.partition) }, p.lag);
        }
      } catch (error) {
        o.onError?.(error);
      }
    },
  });
  /** A topic's backlog for one group: the group's lag summed over partitions, 0 while the topic does not exist. */
  const backlogGauge = (name: string, help: string, topic: string, group: string) => new Gauge({
    name, help, labelNames: ['topic'] as const, registers: [registry],
    async collect() {
      try {
        const topics = await admin.listTopics();
        this.set({ topic }, topics.includes(topic) ? totalLag(await consumerLag(admin, group, topic)) : 0);
      } catch (error) {
        o.onError?.(error);
      }
    },
  });
  // Pending dead letters are the replay group's lag: `npm run dlq -- list` counts the same.
  const dlqDepth = backlogGauge('dlq_depth',
    'Dead letters not replayed yet: the DLQ topic\'s end offset minus what the replay group committed (all partitions).',
    o.dlqTopic, dlqReplayGroupOf(o.groupId));
  // Events waiting in lab 04's retry topic: the retry lane's group lag.
  const retryDepth = o.retryTopic === undefined ? undefined : backlogGauge('retry_topic_depth',
    'Events in the retry topic not yet taken by the retry lane: its end offset minus what the retry group committed (all partitions).',
    o.retryTopic, retryGroupOf(o.groupId));
  return { lag, dlqDepth, retryDepth };
}

/** Prometheus' text exposition content type. */
export const metricsContentType = Registry.PROMETHEUS_CONTENT_TYPE;

export interface MetricsServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * A small node:http server for processes that have no HTTP server of their own (workers, the
 * nginx exporter): GET /metrics serves the registry; `routes` adds other GET paths (JSON).
 */
export async function startMetricsServer(
  registry: Registry,
  opts: { port?: number; host?: string; routes?: Record<string, (url: URL) => unknown | Promise<unknown>> } = {},
): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    void (async () => {
      try {
        if (req.method === 'GET' && url.pathname === '/metrics') {
          const body = await registry.metrics();
          res.writeHead(200, { 'content-type': metricsContentType }).end(body);
          return;
        }
        const route = req.method === 'GET' ? opts.routes?.[url.pathname] : undefined;
        if (route) {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(await route(url)));
          return;
        }
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      } catch (error) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
