/**
 * What a replica does when its per-customer limit cannot ask Redis (down, or slower than
 * REDIS_COMMAND_TIMEOUT_MS): both decisions side by side, on two in-process APIs sharing one
 * real Redis behind Toxiproxy and publishing to the real broker. Neither ever answers a 5xx.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Toxiproxy, type Proxy } from 'toxiproxy-node-client';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../infra/processes.js';
import { startRedis, type RedisServer } from '../../../infra/redis.js';
import { loadConfig } from '../../../shared/config.js';
import { createKafka } from '../../../shared/kafka.js';
import { createApiMetrics, type ApiMetrics } from '../../../shared/metrics.js';
import { sum, parsePrometheusText } from '../../../shared/observability/prom-text.js';
import { countByStatus, track, type HttpResult } from '../../../shared/testing/http.js';
import { createTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { buildApp } from '../../01-ingest/src/app.js';
import { EventPublisher, publisherOptionsFrom } from '../../01-ingest/src/publisher.js';
import { createLimitStoreClient, waitUntilReady } from '../src/redis-client.js';

const { brokers, toxiproxyUrl } = inject('kafka');
const topic = uniqueTopic('lab07-limit-store');
const LIMIT = 3;
let redis: RedisServer;
let proxy: Proxy;
let publisher: EventPublisher;
const apis: { app: FastifyInstance; url: string; metrics: ApiMetrics; client: Redis }[] = [];

/** A replica in this process with the customer limit in Redis (through the proxy), deciding `skipOnError`. */
async function startApi(skipOnError: boolean) {
  const config = loadConfig({ LOG_LEVEL: 'silent', KAFKA_TOPIC: topic });
  const client = createLimitStoreClient(`redis://${proxy.listen}`, 100, { warn: () => {} });
  await waitUntilReady(client, 5_000);
  const metrics = createApiMetrics();
  const app = await buildApp(config, publisher, undefined, {
    metrics,
    authenticate: (key) => (key.startsWith('key-of-') ? key.slice('key-of-'.length) : undefined),
    customerRateLimit: { redis: client, max: LIMIT, timeWindowMs: 600_000, skipOnError },
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const api = { app, url, metrics, client };
  apis.push(api);
  return api;
}

let failOpen: Awaited<ReturnType<typeof startApi>>;
let failClosed: Awaited<ReturnType<typeof startApi>>;

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  redis = await startRedis();
  proxy = await new Toxiproxy(toxiproxyUrl).createProxy({
    name: `redis-store-${randomBytes(4).toString('hex')}`, listen: `127.0.0.1:${await freePort()}`, upstream: `127.0.0.1:${redis.port}`,
  });
  publisher = new EventPublisher(createKafka(brokers, 'crm-lab-test-limit-store'), publisherOptionsFrom(loadConfig({ KAFKA_TOPIC: topic })));
  await publisher.start();
  failOpen = await startApi(true);
  failClosed = await startApi(false);
}, 120_000);
afterAll(async () => {
  for (const api of apis) {
    await api.app.close();
    api.client.disconnect();
  }
  await publisher?.stop();
  await proxy?.remove();
  await redis?.process.stop();
});
afterEach(async () => {
  const { data: toxics } = await proxy.api.get<{ name: string }[]>(`${proxy.getPath()}/toxics`);
  for (const toxic of toxics ?? []) await (await proxy.getToxic(toxic.name)).remove();
  await proxy.update({ enabled: true, listen: proxy.listen, upstream: proxy.upstream });
  // The next test starts with both clients connected again (they reconnect within a second).
  for (const api of apis) expect(await waitUntilReady(api.client, 10_000)).toBe(true);
});

const send = (url: string, customer: string, n: number) => Promise.all(Array.from({ length: n }, (_, i) =>
  track(url, { user_id: `${customer}_${i}`, event_type: 'click' }, { headers: { authorization: `Bearer key-of-${customer}` } })));

async function storeErrors(api: { metrics: ApiMetrics }, outcome: 'allowed' | 'refused') {
  return sum(parsePrometheusText(await api.metrics.registry.metrics()), 'rate_limit_store_errors_total', { outcome });
}

/** Each API's answers for a customer already over its limit (LIMIT used up while Redis was healthy). */
async function overLimitAnswers(customer: string, during: () => Promise<void>) {
  expect(countByStatus(await send(failOpen.url, customer, LIMIT))).toEqual({ 202: LIMIT });
  await during();
  const open = await send(failOpen.url, customer, 5);
  const closed = await send(failClosed.url, customer, 5);
  return { open, closed };
}

function expectDecisions(open: HttpResult[], closed: HttpResult[]) {
  expect(countByStatus(open)).toEqual({ 202: 5 });
  expect(countByStatus(closed)).toEqual({ 429: 5 });
  for (const r of closed) {
    expect(r.body).toEqual({ error: 'rate_limited', message: expect.stringContaining('limit store unreachable') });
    expect(r.headers['retry-after']).toBe('1');
  }
}

describe('the per-customer limit when Redis cannot be asked', () => {
  it('with Redis healthy, both count one budget per customer in Redis: the request over the limit gets 429 from either', async () => {
    expect(countByStatus(await send(failOpen.url, 'healthy', LIMIT))).toEqual({ 202: LIMIT });
    const [viaOpen, viaClosed] = await Promise.all([send(failOpen.url, 'healthy', 1), send(failClosed.url, 'healthy', 1)]);
    expect([viaOpen[0]!.status, viaClosed[0]!.status]).toEqual([429, 429]);
  });

  it('Redis unreachable: fail-open accepts and counts "allowed", fail-closed answers a retryable 429 and counts "refused"', async () => {
    const before = [await storeErrors(failOpen, 'allowed'), await storeErrors(failClosed, 'refused')];
    const { open, closed } = await overLimitAnswers('down', () => proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream }).then(() => {}));
    expectDecisions(open, closed);
    expect([await storeErrors(failOpen, 'allowed') - before[0]!, await storeErrors(failClosed, 'refused') - before[1]!]).toEqual([5, 5]);
  });

  it('Redis slower than the command timeout: the same decisions', async () => {
    const before = [await storeErrors(failOpen, 'allowed'), await storeErrors(failClosed, 'refused')];
    const { open, closed } = await overLimitAnswers('slow', () => proxy.addToxic({ name: 'redis-slow', type: 'latency', stream: 'downstream', toxicity: 1,
      attributes: { latency: 1_000, jitter: 0 } }).then(() => {}));
    expectDecisions(open, closed);
    expect([await storeErrors(failOpen, 'allowed') - before[0]!, await storeErrors(failClosed, 'refused') - before[1]!]).toEqual([5, 5]);
  });
});
