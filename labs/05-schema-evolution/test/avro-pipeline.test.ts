import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import avro from 'avsc';
import type { Admin, Producer } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../../../infra/paths.js';
import { waitFor } from '../../../infra/processes.js';
import { startRegistry, type SchemaRegistryServer } from '../../../infra/registry.js';
import { createEventProducer, createKafka, partitionFor } from '../../../shared/kafka.js';
import { waitForStableGroup } from '../../../shared/testing/groups.js';
import { httpRequest, track } from '../../../shared/testing/http.js';
import { topicMessageCount } from '../../../shared/testing/kafka.js';
import { EventWorker } from '../../02-consumer-groups/src/worker.js';
import { ProfileStore } from '../../02-consumer-groups/src/profile-store.js';
import { enrichedEvent } from '../../02-consumer-groups/test/events.js';
import { mainLane } from '../../04-dlq/src/dead-letter.js';
import { toAvroRecord } from '../src/avro-encoder.js';
import { avroType } from '../src/schemas.js';
import { toWire } from '../src/wire-format.js';
import { freshTopics as freshTopicsOf, readRawTopic, sendRaw, startAvroApi, startAvroWorker, statOf, type AvroApi, type AvroWorker } from './harness.js';

const { brokers } = inject('kafka');
const dir = mkdtempSync(join(tmpdir(), 'lab05-'));
let registry: SchemaRegistryServer;
let admin: Admin;
let producer: Producer;
const started: { close?: () => Promise<void>; stop?: () => Promise<void> }[] = [];

const freshTopics = (prefix: string) => freshTopicsOf(brokers, registry.ccompatUrl, prefix);

async function api(topic: string, version: 1 | 2): Promise<AvroApi> {
  const a = await startAvroApi({ brokers, registryUrl: registry.ccompatUrl, topic, version });
  started.push(a);
  return a;
}

async function worker(o: Omit<Parameters<typeof startAvroWorker>[0], 'brokers' | 'registryUrl'>): Promise<AvroWorker> {
  const w = await startAvroWorker({ brokers, registryUrl: registry.ccompatUrl, ...o });
  started.push(w);
  return w;
}

/** Users whose events land on partition 0 and on partition 1 of a 2-partition topic. */
const usersOn = (partition: number, count: number) =>
  Array.from({ length: 200 }, (_, i) => `user_${i}`).filter((u) => partitionFor(u, 2) === partition).slice(0, count);
const users = [...usersOn(0, 3), ...usersOn(1, 3)];
const device = (i: number) => ({ type: i % 2 ? 'mobile' : 'desktop', os: i % 2 ? 'iOS' : 'Windows' });

beforeAll(async () => {
  registry = await startRegistry();
  const kafka = createKafka(brokers, 'lab05-test');
  admin = kafka.admin();
  await admin.connect();
  producer = createEventProducer(kafka);
  await producer.connect();
});

afterAll(async () => {
  for (const s of started.reverse()) await (s.close ?? s.stop)!.call(s).catch(() => undefined);
  await producer?.disconnect();
  await admin?.disconnect();
  await registry?.process.stop();
});

describe('the API writes Avro through the registry', () => {
  let t: Awaited<ReturnType<typeof freshTopics>>;
  let apiV1: AvroApi;
  let apiV2: AvroApi;
  beforeAll(async () => {
    t = await freshTopics('lab05-api');
    [apiV1, apiV2] = await Promise.all([api(t.topic, 1), api(t.topic, 2)]);
  });

  it("a v2 body (with device) is accepted, and its record is Confluent's wire format: 0, v2's schema id, Avro", async () => {
    const res = await track(apiV2.url, { user_id: 'user_wire', event_type: 'login', properties: { plan: 'pro', seats: 3 }, device: { type: 'mobile', os: 'iOS' } });
    expect(res.status).toBe(202);
    const record = (await readRawTopic(brokers, t.topic)).find((r) => r.headers.event_id === res.body.event_id)!;
    expect(record.value[0]).toBe(0);
    expect(record.value.readInt32BE(1)).toBe(t.ids[2]);
    expect(avroType(2).fromBuffer(record.value.subarray(5))).toMatchObject({
      event_id: res.body.event_id, user_id: 'user_wire', properties: { plan: 'pro', seats: 3 }, device: { type: 'mobile', os: 'iOS' },
    });
  });

  it('a v1 API refuses device (400 validation_failed); a nested property fits no Avro schema (400 schema_mismatch); neither reaches Kafka', async () => {
    const before = await topicMessageCount(brokers, t.topic);
    const withDevice = await track(apiV1.url, { user_id: 'u', event_type: 'login', device: { type: 'mobile', os: 'iOS' } });
    expect(withDevice.status).toBe(400);
    expect(withDevice.body).toMatchObject({ error: 'validation_failed', message: expect.stringContaining('device') });
    for (const a of [apiV1, apiV2]) {
      const nested = await track(a.url, { user_id: 'u', event_type: 'login', properties: { address: { city: 'Oslo' } } });
      expect(nested.status).toBe(400);
      expect(nested.body).toMatchObject({ error: 'schema_mismatch', message: expect.stringContaining('properties.address') });
    }
    expect(await topicMessageCount(brokers, t.topic)).toBe(before);
  });

  it('POST /batch is refused by the Avro API (404 not_found, naming /track); nothing reaches Kafka', async () => {
    const before = await topicMessageCount(brokers, t.topic);
    const res = await httpRequest({ url: `${apiV2.url}/batch`, body: [{ user_id: 'u', event_type: 'login' }] });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: 'not_found', message: expect.stringContaining('/track') });
    expect(await topicMessageCount(brokers, t.topic)).toBe(before);
  });

  it("Kafka's own console consumer reads the bytes, and they decode with the schema the registry returns for their id", async () => {
    const sent = await track(apiV1.url, { user_id: 'user_console', event_type: 'page_view', properties: { page: '/pricing' } });
    expect(sent.status).toBe(202);
    const count = await topicMessageCount(brokers, t.topic);
    const { stdout } = await promisify(execFile)('bash', [join(repoRoot, 'infra', 'kafka-cli.sh'), 'console-consumer',
      '--bootstrap-server', brokers[0]!, '--topic', t.topic, '--from-beginning', '--max-messages', String(count), '--timeout-ms', '60000',
      '--value-deserializer', 'org.apache.kafka.common.serialization.BytesDeserializer'], { timeout: 90_000 });
    // BytesDeserializer's text: printable ASCII as is, every other byte (and '\') as \xNN.
    const values = stdout.trim().split('\n').map((line) =>
      Buffer.from(line.replace(/\\x([0-9A-F]{2})|([\s\S])/g, (_m, hex: string | undefined, ch: string | undefined) => (hex ? String.fromCharCode(parseInt(hex, 16)) : ch!)), 'latin1'));
    expect(values).toHaveLength(count);
    const decoded = await Promise.all(values.map(async (value) => {
      expect(value[0]).toBe(0);
      const { schema } = (await (await fetch(`${registry.ccompatUrl}/schemas/ids/${value.readInt32BE(1)}`)).json()) as { schema: string };
      return avro.Type.forSchema(JSON.parse(schema) as avro.Schema).fromBuffer(value.subarray(5));
    }));
    expect(decoded.find((e) => e.event_id === sent.body.event_id)).toMatchObject({ user_id: 'user_console', properties: { page: '/pricing' } });
  });
});

describe('mixed fleet: a v1 and a v2 worker in one group, v1 and v2 producers', () => {
  it('every event is applied once, none dead-lettered; the v1 worker reads v2 events, the v2 worker records their device', async () => {
    const t = await freshTopics('lab05-fleet');
    const [apiV1, apiV2] = await Promise.all([api(t.topic, 1), api(t.topic, 2)]);
    const profileDb = join(dir, 'fleet.db');
    const w1 = await worker({ id: 'fleet-w1-v1', version: 1, profileDb, ...t });
    const w2 = await worker({ id: 'fleet-w2-v2', version: 2, profileDb, ...t });
    const group = await waitForStableGroup(admin, t.groupId, t.topic, 2);
    expect(group.members.map((m) => m.partitions.length)).toEqual([1, 1]);

    const v1Ids: string[] = [];
    const v2Ids: string[] = [];
    for (let i = 0; i < 24; i++) {
      const user_id = users[i % users.length]!;
      const v2 = i % 2 === 1;
      const res = v2
        ? await track(apiV2.url, { user_id, event_type: 'login', properties: { i }, device: device(i) })
        : await track(apiV1.url, { user_id, event_type: 'login', properties: { i } });
      expect(res.status).toBe(202);
      (v2 ? v2Ids : v1Ids).push(res.body.event_id);
    }
    const store = w1.store;
    await waitFor('all 24 events applied', () => store.processedCount() === 24, { timeoutMs: 60_000 });

    expect(statOf(w1, 'applied') + statOf(w2, 'applied')).toBe(24);
    expect(statOf(w1, 'dead-lettered') + statOf(w2, 'dead-lettered') + statOf(w1, 'retry-scheduled') + statOf(w2, 'retry-scheduled')).toBe(0);
    expect(await topicMessageCount(brokers, t.dlqTopic)).toBe(0);
    const processed = store.processed();
    const byWorker = (id: string, ids: string[]) => processed.filter((p) => p.worker_id === id && ids.includes(p.event_id)).map((p) => p.event_id);
    // The seed's problem, solved: the old worker reads new events (device dropped by its reader schema).
    expect(byWorker(w1.id, v2Ids).length).toBeGreaterThan(0);
    expect(byWorker(w2.id, v1Ids).length).toBeGreaterThan(0);
    // The new worker uses the new field: a device sighting for exactly the v2 events it processed.
    expect(store.deviceSightings().map((d) => d.event_id).sort()).toEqual(byWorker(w2.id, v2Ids).sort());
    expect(store.profiles().reduce((n, p) => n + p.login_count, 0)).toBe(24);
  });

  it('control: a v1 worker that decodes with the writer schema instead of its own dead-letters every v2 event (the seed\'s "old workers fail")', async () => {
    const t = await freshTopics('lab05-control');
    const apiV2 = await api(t.topic, 2);
    for (let i = 0; i < 4; i++) expect((await track(apiV2.url, { user_id: users[i]!, event_type: 'login', device: device(i) })).status).toBe(202);
    const w = await worker({ id: 'control-v1-no-reader', version: 1, profileDb: join(dir, 'control.db'), useReaderSchema: false, ...t });
    await waitFor('4 dead letters', async () => (await topicMessageCount(brokers, t.dlqTopic)) === 4, { timeoutMs: 60_000 });
    expect(statOf(w, 'applied')).toBe(0);
    const [dead] = await readRawTopic(brokers, t.dlqTopic);
    expect(dead!.headers.last_error).toMatch(/device/);
  });
});

describe('migrating the JSON topic', () => {
  it('a topic holding JSON records from before the switch, then Avro, is processed completely by an Avro worker', async () => {
    const t = await freshTopics('lab05-migrate');
    const json = users.map((u) => enrichedEvent(u, 'login'));
    await sendRaw(producer, t.topic, json.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })));
    const apiV2 = await api(t.topic, 2);
    for (let i = 0; i < 6; i++) expect((await track(apiV2.url, { user_id: users[i]!, event_type: 'login', device: device(i) })).status).toBe(202);
    const w = await worker({ id: 'migrate-v2', version: 2, profileDb: join(dir, 'migrate.db'), ...t });
    await waitFor('12 events applied', () => w.store.processedCount() === 12, { timeoutMs: 60_000 });
    expect(statOf(w, 'applied')).toBe(12);
    expect(statOf(w, 'retry-scheduled')).toBe(0);
    expect(w.store.deviceSightings()).toHaveLength(6);
  });

  it("why workers switch first: lab 02's JSON-only worker fails on every Avro record (here into lab 04's DLQ)", async () => {
    const t = await freshTopics('lab05-jsononly');
    const apiV2 = await api(t.topic, 2);
    for (let i = 0; i < 3; i++) expect((await track(apiV2.url, { user_id: users[i]!, event_type: 'login' })).status).toBe(202);
    const kafka = createKafka(brokers, 'jsononly-worker');
    const store = new ProfileStore(join(dir, 'jsononly.db'));
    const jsonWorker = new EventWorker({
      kafka, topic: t.topic, groupId: t.groupId, workerId: 'json-only', store, log: pino({ level: 'silent' }),
      lane: mainLane({ producer, retryTopic: t.retryTopic, dlqTopic: t.dlqTopic, policy: { maxAttempts: 1, baseDelayMs: 10 }, log: pino({ level: 'silent' }) }),
    });
    started.push({ stop: async () => { await jsonWorker.stop(); store.close(); } });
    await jsonWorker.start();
    await waitFor('3 dead letters', () => jsonWorker.stats['dead-lettered'] === 3, { timeoutMs: 60_000 });
    expect(jsonWorker.stats.applied).toBe(0);
  });
});

describe('what is still poison with a registry', () => {
  it('an unknown schema id, corrupt Avro bytes and an unknown first byte go to the DLQ; the rest is applied', async () => {
    const t = await freshTopics('lab05-poison');
    const good = users.slice(0, 3).map((u) => enrichedEvent(u, 'login'));
    const v2 = avroType(2);
    const avroOf = (id: number, e: ReturnType<typeof enrichedEvent>) => toWire(id, v2.toBuffer(toAvroRecord(e, 2)));
    const truncated = avroOf(t.ids[2], enrichedEvent('user_corrupt', 'login')).subarray(0, 12);
    await sendRaw(producer, t.topic, [
      ...good.map((e) => ({ key: e.user_id, value: avroOf(t.ids[2], e) })),
      { key: 'user_unknown_id', value: avroOf(987_654, enrichedEvent('user_unknown_id', 'login')) },
      { key: 'user_corrupt', value: truncated },
      { key: 'user_garbage', value: Buffer.from('garbage') },
    ]);
    const w = await worker({ id: 'poison-v2', version: 2, profileDb: join(dir, 'poison.db'), ...t });
    await waitFor('3 dead letters', async () => (await topicMessageCount(brokers, t.dlqTopic)) === 3, { timeoutMs: 60_000 });
    await waitFor('3 events applied', () => w.store.processedCount() === 3, { timeoutMs: 60_000 });
    const errors = Object.fromEntries((await readRawTopic(brokers, t.dlqTopic)).map((r) => [r.key, r.headers.last_error]));
    expect(errors).toEqual({
      user_unknown_id: 'schema id 987654 is unknown to the registry',
      user_corrupt: expect.stringMatching(/^Avro body of schema id \d+ does not decode: truncated buffer/),
      user_garbage: "first byte 0x67 is neither the Avro magic byte 0x00 nor '{'",
    });
  });
});
