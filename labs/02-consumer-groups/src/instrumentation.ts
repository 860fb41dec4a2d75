/**
 * The worker's metrics and trace hooks: counts and times every processing attempt, the failed
 * ones too (shared/metrics.ts `createWorkerMetrics`), and records each traced event's worker spans
 * (polled, processed, committed; shared/trace.ts). Plugged into EventWorker through its
 * `instrumentation` option; it only observes.
 */
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import {
  createRegistry, createWorkerMetrics, registerKafkaGauges, startMetricsServer, type MetricsServer, type WorkerMetrics,
} from '../../../shared/metrics.js';
import { nowMs, WorkerTraceRecorder, type WorkerTrace } from '../../../shared/trace.js';
import type { WorkerInstrumentation } from './worker.js';

export function createWorkerInstrumentation(o: {
  metrics: WorkerMetrics;
  workerId: string;
  log?: Logger;
  /** Called with each traced event once its offset is committed. */
  onTrace?: (trace: WorkerTrace) => void;
}): WorkerInstrumentation & { traces: WorkerTraceRecorder } {
  const traces = new WorkerTraceRecorder({
    worker: o.workerId,
    onComplete: (trace) => {
      o.log?.debug({ request_id: trace.request_id, event_id: trace.event_id, partition: trace.partition, offset: trace.offset, spans: trace.spans }, 'trace');
      o.onTrace?.(trace);
    },
  });
  // One labelled child per result, looked up once: `inc({ result })` hashes the labels on every event.
  const processedBy = new Map<string, { inc(): void }>();
  const countProcessed = (result: string) => {
    let child = processedBy.get(result);
    if (!child) processedBy.set(result, (child = o.metrics.eventsProcessed.labels({ result })));
    child.inc();
  };
  return {
    traces,
    batchPolled: (partition) => traces.polled(partition),
    committed: (partition, nextOffset) => traces.committed(partition, nextOffset),
    processed: (message, consumed, result, seconds) => {
      o.metrics.processingDuration.observe(seconds);
      countProcessed(result);
      traces.processed({
        request_id: message.headers?.request_id?.toString(),
        event_id: message.headers?.event_id?.toString(),
        partition: consumed.partition,
        offset: consumed.offset,
      }, nowMs());
    },
    failed: (_message, _consumed, _error, seconds) => {
      o.metrics.processingDuration.observe(seconds);
      o.metrics.processingFailures.inc();
    },
  };
}

/**
 * Everything a worker process needs to be observable, in one call: its registry (with Node's
 * process metrics), the instrumentation to pass to EventWorker, and — when `metricsPort` is
 * set (0: any free port) — a server for GET /metrics (with `kafka_consumer_lag` and `dlq_depth`
 * read from the broker on scrape) and GET /traces?request_id=… . Lab 04's worker can reuse it.
 */
export async function startWorkerObservability(o: {
  kafka: Kafka;
  workerId: string;
  groupId: string;
  topic: string;
  dlqTopic: string;
  /** Lab 04's retry topic: its depth is served as `retry_topic_depth`. */
  retryTopic?: string;
  log: Logger;
  metricsPort?: number;
}): Promise<{ metrics: WorkerMetrics; instrumentation: ReturnType<typeof createWorkerInstrumentation>; server?: MetricsServer; close(): Promise<void> }> {
  const metrics = createWorkerMetrics(createRegistry({ defaults: true, labels: { worker_id: o.workerId } }));
  const instrumentation = createWorkerInstrumentation({ metrics, workerId: o.workerId, log: o.log });
  if (o.metricsPort === undefined) return { metrics, instrumentation, close: async () => undefined };
  const admin = o.kafka.admin();
  await admin.connect();
  registerKafkaGauges(metrics.registry, admin, {
    groupId: o.groupId,
    topic: o.topic,
    dlqTopic: o.dlqTopic,
    retryTopic: o.retryTopic,
    onError: (err) => o.log.warn({ err }, 'metrics: cannot read offsets from Kafka'),
  });
  const server = await startMetricsServer(metrics.registry, {
    port: o.metricsPort,
    routes: { '/traces': (url) => instrumentation.traces.find(url.searchParams.get('request_id') ?? '') ?? null },
  });
  o.log.info({ url: `${server.url}/metrics` }, 'metrics server listening');
  return {
    metrics,
    instrumentation,
    server,
    async close() {
      await server.close();
      await admin.disconnect().catch(() => undefined);
    },
  };
}
