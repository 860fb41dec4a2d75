/**
 * The registry cut off by Toxiproxy (the proxy disabled: connections refused), between it and
 * the API or the worker. Cached schemas keep both working; what is not cached waits for it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { Toxiproxy, type Proxy } from 'toxiproxy-node-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, waitFor } from '../../../infra/processes.js';
import { startRegistry, type SchemaRegistryServer } from '../../../infra/registry.js';
import { createEventProducer, createKafka } from '../../../shared/kafka.js';
import { track } from '../../../shared/testing/http.js';
import { topicMessageCount } from '../../../shared/testing/kafka.js';
import { enrichedEvent } from '../../02-consumer-groups/test/events.js';
import { toAvroRecord } from '../src/avro-encoder.js';
import { avroType, type SchemaVersion } from '../src/schemas.js';
import { toWire } from '../src/wire-format.js';
import { freshTopics as freshTopicsOf, sendRaw, startAvroApi, startAvroWorker, statOf, type AvroApi, type AvroWorker } from './harness.js';

const { brokers, toxiproxyUrl } = inject('kafka');
const dir = mkdtempSync(join(tmpdir(), 'lab05-down-'));
let registry: SchemaRegistryServer;
let proxy: Proxy;
/** The registry's ccompat API through Toxiproxy: what the API and worker under test use. */
let proxiedUrl: string;
let producer: Producer;
const started: { close?: () => Promise<void>; stop?: () => Promise<void> }[] = [];

const setRegistryReachable = (enabled: boolean) => proxy.update({ enabled, listen: proxy.listen, upstream: proxy.upstream });

const freshTopics = (prefix: string) => freshTopicsOf(brokers, registry.ccompatUrl, prefix);

async function api(topic: string): Promise<AvroApi> {
  const a = await startAvroApi({ brokers, registryUrl: proxiedUrl, topic, version: 2 });
  started.push(a);
  return a;
}

beforeAll(async () => {
  registry = await startRegistry();
  const port = await freePort();
  proxy = await new Toxiproxy(toxiproxyUrl).createProxy({
    name: `registry-${randomBytes(4).toString('hex')}`, listen: `127.0.0.1:${port}`, upstream: `127.0.0.1:${registry.port}`,
  });
  proxiedUrl = `http://127.0.0.1:${port}/apis/ccompat/v7`;
  producer = createEventProducer(createKafka(brokers, 'lab05-down-test'));
  await producer.connect();
});

afterAll(async () => {
  for (const s of started.reverse()) await (s.close ?? s.stop)!.call(s).catch(() => undefined);
  await producer?.disconnect();
  await proxy?.remove().catch(() => undefined);
  await registry?.process.stop();
});

describe('registry down, at the API', () => {
  it('an API that has resolved its schema keeps accepting; one that has not answers 503 (and 400 still wins for a misfit)', async () => {
    await setRegistryReachable(true);
    const t = await freshTopics('lab05-down-api');
    const warm = await api(t.topic);
    expect((await track(warm.url, { user_id: 'u1', event_type: 'login' })).status).toBe(202);

    await setRegistryReachable(false);
    const cold = await api(t.topic);
    for (let i = 0; i < 5; i++) expect((await track(warm.url, { user_id: `u${i}`, event_type: 'login', device: { type: 'mobile', os: 'iOS' } })).status).toBe(202);
    const refused = await track(cold.url, { user_id: 'u9', event_type: 'login' });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toMatchObject({ error: 'schema_registry_unavailable', message: expect.stringContaining('retry with the same event_id') });
    const misfit = await track(cold.url, { user_id: 'u9', event_type: 'login', properties: { nested: [1] } });
    expect(misfit.status).toBe(400);
    expect(await topicMessageCount(brokers, t.topic)).toBe(6);

    await setRegistryReachable(true);
    const retried = await track(cold.url, { user_id: 'u9', event_type: 'login', event_id: refused.body.event_id });
    expect(retried.status).toBe(202);
    expect(retried.body.event_id).toBe(refused.body.event_id);
  });
});

describe('registry down, at the worker', () => {
  it('records of a cached schema id are processed; an id not cached yet stalls its partition, uncommitted and not dead-lettered, until the registry is back', async () => {
    await setRegistryReachable(true);
    const t = await freshTopics('lab05-down-worker');
    const send = (version: SchemaVersion, n: number) => {
      const events = Array.from({ length: n }, (_, i) => enrichedEvent(`user_${version}_${i}_${randomBytes(2).toString('hex')}`, 'login'));
      return sendRaw(producer, t.topic, events.map((e) => ({ key: e.user_id, value: toWire(t.ids[version], avroType(version).toBuffer(toAvroRecord(e, version))) })));
    };
    const w: AvroWorker = await startAvroWorker({ id: 'down-v2', brokers, registryUrl: proxiedUrl, version: 2, profileDb: join(dir, 'down.db'), ...t });
    started.push(w);
    await send(1, 2);
    await waitFor('2 v1 records applied', () => w.store.processedCount() === 2, { timeoutMs: 60_000 });

    await setRegistryReachable(false);
    await send(1, 2);
    await waitFor('4 records applied with the cached v1 schema', () => w.store.processedCount() === 4, { timeoutMs: 60_000 });
    await send(2, 2);
    await waitFor('the worker retrying the unknown-to-it v2 id', () => w.decoder.registryFailures >= 2, { timeoutMs: 60_000 });
    expect(w.store.processedCount()).toBe(4);
    expect(statOf(w, 'retry-scheduled') + statOf(w, 'dead-lettered')).toBe(0);
    expect(await topicMessageCount(brokers, t.retryTopic)).toBe(0);
    expect(await topicMessageCount(brokers, t.dlqTopic)).toBe(0);

    await setRegistryReachable(true);
    await waitFor('all 6 applied once the registry is back', () => w.store.processedCount() === 6, { timeoutMs: 90_000 });
    expect(statOf(w, 'retry-scheduled') + statOf(w, 'dead-lettered')).toBe(0);
    expect(await topicMessageCount(brokers, t.dlqTopic)).toBe(0);
  });
});
