/**
 * Lab 05, exercise 4: the worker fetches a writer schema the first time it meets its id, so a
 * registry outage right after a restart stalls every partition whose ids it has not met yet
 * (registry-down.test.ts shows the stall). Pre-fetch all of the subject's schema ids at start.
 * The registry is cut off by Toxiproxy right after the worker has started, before any record.
 * Fails on the reference with: `expected { applied: +0, deadLettered: +0 } to deeply equal { applied: 4, deadLettered: +0 }` (tools/learn/ci.ts checks it does, in CI).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { Toxiproxy, type Proxy } from 'toxiproxy-node-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, sleep } from '../../../infra/processes.js';
import { startRegistry, type SchemaRegistryServer } from '../../../infra/registry.js';
import { createEventProducer, createKafka } from '../../../shared/kafka.js';
import { topicMessageCount } from '../../../shared/testing/kafka.js';
import { enrichedEvent } from '../../02-consumer-groups/test/events.js';
import { toAvroRecord } from '../src/avro-encoder.js';
import { avroType, type SchemaVersion } from '../src/schemas.js';
import { toWire } from '../src/wire-format.js';
import { freshTopics, sendRaw, startAvroWorker, type AvroWorker } from '../test/harness.js';

const { brokers, toxiproxyUrl } = inject('kafka');
const dir = mkdtempSync(join(tmpdir(), 'ex05-prefetch-'));
let registry: SchemaRegistryServer;
let proxy: Proxy;
let proxiedUrl: string;
let producer: Producer;
let worker: AvroWorker | undefined;

beforeAll(async () => {
  registry = await startRegistry();
  const port = await freePort();
  proxy = await new Toxiproxy(toxiproxyUrl).createProxy({
    name: `ex05-registry-${randomBytes(4).toString('hex')}`, listen: `127.0.0.1:${port}`, upstream: `127.0.0.1:${registry.port}`,
  });
  proxiedUrl = `http://127.0.0.1:${port}/apis/ccompat/v7`;
  producer = createEventProducer(createKafka(brokers, 'ex05-prefetch'));
  await producer.connect();
});
afterAll(async () => {
  await worker?.stop().catch(() => undefined);
  await producer?.disconnect();
  await proxy?.remove().catch(() => undefined);
  await registry?.process.stop();
});

describe('lab 05 exercise 4: pre-fetch the schema ids at start', () => {
  it('a worker started just before the registry goes down applies v1 and v2 records it has never seen (4 of 4 within 30 s), none dead-lettered', async () => {
    const t = await freshTopics(brokers, registry.ccompatUrl, 'ex05-prefetch');
    worker = await startAvroWorker({ id: 'prefetch-v2', brokers, registryUrl: proxiedUrl, version: 2, profileDb: join(dir, 'prefetch.db'), ...t });
    await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });

    const send = (version: SchemaVersion, n: number) => {
      const events = Array.from({ length: n }, (_, i) => enrichedEvent(`user_${version}_${i}_${randomBytes(2).toString('hex')}`, 'login'));
      return sendRaw(producer, t.topic, events.map((e) => ({ key: e.user_id, value: toWire(t.ids[version], avroType(version).toBuffer(toAvroRecord(e, version))) })));
    };
    await send(1, 2);
    await send(2, 2);
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && worker.store.processedCount() < 4; ) await sleep(500);
    console.log(`applied ${worker.store.processedCount()} of 4; registry failures seen by the decoder: ${worker.decoder.registryFailures}`);
    expect({ applied: worker.store.processedCount(), deadLettered: await topicMessageCount(brokers, t.dlqTopic) }).toEqual({ applied: 4, deadLettered: 0 });
  });
});
