/**
 * The /metrics endpoints count what really happened: an in-process API publishing to the real
 * broker behind a real nginx, the nginx exporter reading nginx's error log, and a worker process.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startNginx, type NginxServer } from '../../../infra/nginx.js';
import { freePort, waitFor } from '../../../infra/processes.js';
import { startWorker, type WorkerProcess } from '../../../infra/worker.js';
import { dlqReplayGroupOf } from '../../../shared/config.js';
import { createKafka } from '../../../shared/kafka.js';
import { consumerLag, totalLag } from '../../../shared/lag.js';
import { createRegistry, createWorkerMetrics, registerKafkaGauges, type MetricsServer } from '../../../shared/metrics.js';
import { countByStatus, track } from '../../../shared/testing/http.js';
import { createTopic, topicMessageCount, uniqueTopic } from '../../../shared/testing/kafka.js';
import { startInProcessApi, type InProcessApi } from '../../../labs/01-ingest/test/in-process-api.js';
import { createWorkerInstrumentation } from '../../../labs/02-consumer-groups/src/instrumentation.js';
import { startNginxExporter } from '../../../shared/observability/nginx-exporter.js';
import { parsePrometheusText, scrape, select, sum } from '../../../shared/observability/prom-text.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('obs-metrics');
const groupId = uniqueTopic('obs-metrics-group');
const dir = mkdtempSync(join(tmpdir(), 'obs-metrics-'));
const RATE_LIMIT_MAX = 25;
let api: InProcessApi;
let nginx: NginxServer;
let exporter: MetricsServer;
let admin: Admin;
let producer: Producer;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  api = await startInProcessApi(brokers, { KAFKA_TOPIC: topic, RATE_LIMIT_MAX: String(RATE_LIMIT_MAX) });
  nginx = await startNginx({ upstreams: [new URL(api.url).host], rate: 1, burst: 5, workers: 1 });
  exporter = await startNginxExporter({ errorLog: join(dirname(nginx.confFile), 'error.log') });
  admin = createKafka(brokers, 'obs-metrics-test').admin();
  await admin.connect();
  producer = createKafka(brokers, 'obs-metrics-test').producer();
  await producer.connect();
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.process.stop()));
  await nginx?.process.stop();
  await exporter?.close();
  await api?.close();
  await producer?.disconnect();
  await admin?.disconnect();
});

describe('API /metrics', () => {
  it('counts requests by route and status, the API\'s 429s, and one produce latency per acked event', async () => {
    for (let i = 0; i < 20; i++) expect((await track(api.url, { user_id: `m_${i}`, event_type: 'page_view' }, { localAddress: '127.0.3.1' })).status).toBe(202);
    for (const bad of [{}, { user_id: 'x' }, { user_id: 'x', event_type: 'e', extra: 1 }]) {
      expect((await track(api.url, bad, { localAddress: '127.0.3.1' })).status).toBe(400);
    }
    const limited = [];
    for (let i = 0; i < RATE_LIMIT_MAX + 5; i++) limited.push(await track(api.url, { user_id: `rl_${i}`, event_type: 'click' }, { localAddress: '127.0.3.2' }));
    expect(countByStatus(limited)).toEqual({ 202: RATE_LIMIT_MAX, 429: 5 });

    const m = await scrape(`${api.url}/metrics`);
    const accepted = 20 + RATE_LIMIT_MAX;
    expect(sum(m, 'http_requests_total', { route: '/track', method: 'POST', status: '202' })).toBe(accepted);
    expect(sum(m, 'http_requests_total', { route: '/track', status: '400' })).toBe(3);
    expect(sum(m, 'http_requests_total', { route: '/track', status: '429' })).toBe(5);
    expect(sum(m, 'rate_limited_total', { source: 'api' })).toBe(5);
    expect(sum(m, 'http_request_duration_seconds_count', { route: '/track' })).toBe(accepted + 3 + 5);
    expect(sum(m, 'kafka_produce_duration_seconds_count', { topic })).toBe(accepted);
    expect(sum(m, 'kafka_produce_failures_total')).toBe(0);
    expect(await topicMessageCount(brokers, topic)).toBe(accepted);
  });
});

describe('nginx exporter', () => {
  it('counts exactly the 429s nginx answered itself (rate 1 r/s, burst 5), not the API\'s', async () => {
    const before = sum(await scrape(`${exporter.url}/metrics`), 'nginx_rate_limited_total');
    expect(before).toBe(0);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      track(nginx.url, { user_id: `ng_${i}`, event_type: 'click' }, { localAddress: '127.0.3.3' })));
    const byNginx = results.filter((r) => r.status === 429 && r.headers['x-api-instance'] === undefined).length;
    console.log('burst of 20 through nginx:', countByStatus(results), `${byNginx} rejected by nginx`);
    expect(byNginx).toBeGreaterThan(0);
    expect(results.every((r) => r.status === 202 || r.status === 429)).toBe(true);
    // nginx writes the error log line before answering; the exporter reads it on scrape.
    expect(sum(await scrape(`${exporter.url}/metrics`), 'nginx_rate_limited_total', { source: 'nginx' })).toBe(byNginx);
    // And the API counted what nginx passed on.
    const m = await scrape(`${api.url}/metrics`);
    expect(sum(m, 'http_requests_total', { route: '/track', status: '202' })).toBe(20 + RATE_LIMIT_MAX + results.filter((r) => r.status === 202).length);
  });
});

describe('worker /metrics', () => {
  it('counts every processed event, and its lag and DLQ depth gauges say what the broker says', async () => {
    const port = await freePort();
    // A DLQ of its own holding 4 dead letters, so the depth it reports is a real one.
    const dlqTopic = uniqueTopic('obs-worker-dlq');
    await createTopic(brokers, dlqTopic, 1);
    await producer.send({ topic: dlqTopic, acks: -1, messages: Array.from({ length: 4 }, () => ({ value: 'dead' })) });
    workers.push(startWorker({ id: 'obs-worker-1', brokers, profileDb: join(dir, 'profiles.db'), logDir: dir,
      env: { KAFKA_TOPIC: topic, CONSUMER_GROUP: groupId, KAFKA_DLQ_TOPIC: dlqTopic, METRICS_PORT: String(port) } }));
    const stored = await topicMessageCount(brokers, topic);
    await waitFor('lag 0', async () => totalLag(await consumerLag(admin, groupId, topic)) === 0, { timeoutMs: 60_000, intervalMs: 250 });
    const m = await waitFor('worker metrics', async () => {
      const samples = await scrape(`http://127.0.0.1:${port}/metrics`);
      return sum(samples, 'events_processed_total') === stored ? samples : undefined;
    }, { timeoutMs: 10_000 });
    expect(sum(m, 'events_processed_total', { result: 'applied' })).toBe(stored);
    expect(sum(m, 'event_processing_duration_seconds_count')).toBe(stored);
    expect(sum(m, 'processing_failures_total')).toBe(0);
    const lag = select(m, 'kafka_consumer_lag', { group: groupId, topic });
    expect(lag.map((s) => [s.labels.partition, s.value]).sort()).toEqual((await consumerLag(admin, groupId, topic)).map((p) => [String(p.partition), p.lag]));
    expect(select(m, 'dlq_depth').map((s) => [s.labels.topic, s.value])).toEqual([[dlqTopic, 4]]);
  });

  it('reports a non-zero lag and the DLQ depth exactly (registerKafkaGauges on a group that committed part of the topic)', async () => {
    const t = uniqueTopic('obs-lag');
    const dlq = uniqueTopic('obs-dlq');
    const g = uniqueTopic('obs-lag-group');
    await createTopic(brokers, t, 2);
    await createTopic(brokers, dlq, 1);
    await producer.send({ topic: t, messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: 'x' })) });
    await producer.send({ topic: dlq, messages: Array.from({ length: 3 }, () => ({ value: 'dead' })) });
    await admin.setOffsets({ groupId: g, topic: t, partitions: [{ partition: 0, offset: '2' }] });

    const registry = createRegistry();
    registerKafkaGauges(registry, admin, { groupId: g, topic: t, dlqTopic: dlq });
    const m = parsePrometheusText(await registry.metrics());
    const expected = await consumerLag(admin, g, t);
    expect(totalLag(expected)).toBe(28);
    expect(select(m, 'kafka_consumer_lag').map((s) => [Number(s.labels.partition), s.value])).toEqual(expected.map((p) => [p.partition, p.lag]));
    expect(sum(m, 'dlq_depth', { topic: dlq })).toBe(3);
    // Depth is what is still pending: once the replay group has committed past one entry, 2 remain.
    await admin.setOffsets({ groupId: dlqReplayGroupOf(g), topic: dlq, partitions: [{ partition: 0, offset: '1' }] });
    expect(sum(parsePrometheusText(await registry.metrics()), 'dlq_depth', { topic: dlq })).toBe(2);

    const missing = createRegistry();
    registerKafkaGauges(missing, admin, { groupId: g, topic: t, dlqTopic: uniqueTopic('no-such-dlq') });
    expect(sum(parsePrometheusText(await missing.metrics()), 'dlq_depth')).toBe(0);
  });

  it('counts failed processing attempts and times them (the instrumentation hooks)', async () => {
    const metrics = createWorkerMetrics();
    const hooks = createWorkerInstrumentation({ metrics, workerId: 'unit' });
    const message = { headers: {}, value: null } as never;
    const position = { topic: 't', partition: 0, offset: 0 };
    hooks.failed!(message, position, new Error('boom'), 0.002);
    hooks.failed!(message, position, new Error('boom'), 0.002);
    hooks.processed!(message, position, 'applied', 0.001);
    const m = parsePrometheusText(await metrics.registry.metrics());
    expect(sum(m, 'processing_failures_total')).toBe(2);
    expect(sum(m, 'events_processed_total', { result: 'applied' })).toBe(1);
    expect(sum(m, 'event_processing_duration_seconds_count')).toBe(3);
  });
});
