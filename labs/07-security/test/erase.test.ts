import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../../../infra/test/run-tsx.js';
import { waitFor } from '../../../infra/processes.js';
import { startWorker, type WorkerProcess } from '../../../infra/worker.js';
import { readAudit, verifyAuditLog } from '../../../shared/audit.js';
import { loadConfig, retryGroupOf } from '../../../shared/config.js';
import { createEventProducer, createKafka } from '../../../shared/kafka.js';
import { consumerLag, totalLag } from '../../../shared/lag.js';
import { httpRequest, track } from '../../../shared/testing/http.js';
import { createTopic, topicMessageCount } from '../../../shared/testing/kafka.js';
import { buildApp } from '../../01-ingest/src/app.js';
import { EventPublisher, publisherOptionsFrom } from '../../01-ingest/src/publisher.js';
import { enrichedEvent } from '../../02-consumer-groups/test/events.js';
import { readRawTopic, type RawRecord } from '../../04-dlq/src/raw-records.js';
import { loadOrCreateKek } from '../src/pii/kek.js';
import { KeyStore } from '../src/pii/key-store.js';
import { PiiEventCodec } from '../src/pii/pii-codec.js';
import { DEFAULT_PII_FIELDS } from '../src/pii/pii-fields.js';
import { PiiProfileStore } from '../src/pii-profile-store.js';
import { countIn, plaintextHits, tallySealed } from './pii-scan.js';

const { brokers } = inject('kafka');
/** Every topic of this run carries this prefix, so "every topic" is a listTopics filter. */
const run = `lab07-pii-${randomBytes(4).toString('hex')}`;
const topic = `${run}-events`;
const retryTopic = `${run}-retry`;
const dlqTopic = `${run}-dlq`;
/** Stands for a compacted topic keyed by user that a learner's own consumer keeps (labs 01–06 have none: docs/privacy.md). */
const byUserTopic = `${run}-compacted-by-user`;
const groupId = `${run}-processors`;
const dir = mkdtempSync(join(tmpdir(), 'lab07-pii-'));
const profileDb = join(dir, 'profiles.db');
const auditLog = join(dir, 'audit.log');
const env = {
  KAFKA_TOPIC: topic, KAFKA_RETRY_TOPIC: retryTopic, KAFKA_DLQ_TOPIC: dlqTopic, CONSUMER_GROUP: groupId,
  PII_KEY_DB: join(dir, 'secrets', 'pii-keys.db'), PII_KEK_FILE: join(dir, 'secrets', 'pii-kek'), PROFILE_DB: profileDb,
  AUDIT_LOG: auditLog, AUDIT_ACTOR: 'dpo-dana', RETRY_MAX_ATTEMPTS: '2', RETRY_BASE_MS: '50', STORE_BUSY_TIMEOUT_MS: '1000',
};

interface Person { user: string; email: string; phone: string; name: string; ip: string }
const people: Person[] = ['alice', 'bob', 'carol'].map((user, i) => ({
  user: `${run}-${user}`, email: `${user}.${run}@example.com`, phone: `+33 6 00 00 ${String(40 + i).padStart(2, '0')} ${run.slice(-4, -2)}`,
  name: `${user[0]!.toUpperCase()}${user.slice(1)} Q. ${run.slice(-4)}`, ip: `127.0.0.${41 + i}`,
}));
const [alice, bob, carol] = people as [Person, Person, Person];
const TRACKED = 6; // per user through /track, plus a /batch of 3
const BATCHED = 3;

let app: FastifyInstance;
let url: string;
let publisher: EventPublisher;
let keys: KeyStore;
let codec: PiiEventCodec;
let worker: WorkerProcess;
let store: PiiProfileStore;
let admin: Admin;
let producer: Producer;
/** An event of alice's sealed before the erase, published after it (still in flight somewhere). */
let lateValue: Buffer;
let lateEventId: string;
let aliceKids: string[];

const propsOf = (p: Person, i: number) => ({ email: p.email, phone: p.phone, name: p.name, plan: 'pro', seq: i });

const erase = (user: string, extraEnv: Record<string, string> = {}) =>
  runCli('labs/07-security/src/erase.ts', [user], { ...env, ...extraEnv, KAFKA_BROKERS: brokers.join(',') });

/** Every record of every topic this run created. */
async function everyTopic(): Promise<Map<string, RawRecord[]>> {
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(run)).sort();
  return new Map(await Promise.all(topics.map(async (t) => [t, await readRawTopic(brokers, t)] as const)));
}
const all = (records: Map<string, RawRecord[]>) => [...records.values()].flat();

/** The profile store's files as bytes (the main file and its WAL). */
const profileBytes = () => Buffer.concat([profileDb, `${profileDb}-wal`].filter(existsSync).map((f) => readFileSync(f)));

const settled = async () => (await topicMessageCount(brokers, dlqTopic)) >= 1
  && totalLag(await consumerLag(admin, groupId, topic)) === 0 && totalLag(await consumerLag(admin, retryGroupOf(groupId), retryTopic)) === 0;

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  await createTopic(brokers, retryTopic, 1);
  await createTopic(brokers, dlqTopic, 1);
  const kafka = createKafka(brokers, 'lab07-pii-test');
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: false, topics: [{ topic: byUserTopic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
  await waitFor('the compacted topic\'s leader', async () => (await admin.fetchTopicMetadata({ topics: [byUserTopic] })).topics[0]!.partitions.every((p) => p.leader >= 0));
  producer = createEventProducer(kafka);
  await producer.connect();
  // The API in this process, with lab 07's codec, publishing to the real broker.
  const config = loadConfig({ ...env, LOG_LEVEL: 'warn', KAFKA_BROKERS: brokers.join(',') });
  keys = new KeyStore(env.PII_KEY_DB, loadOrCreateKek(env.PII_KEK_FILE));
  codec = new PiiEventCodec(keys, DEFAULT_PII_FIELDS);
  publisher = new EventPublisher(createKafka(brokers, 'lab07-pii-api'), publisherOptionsFrom(config));
  await publisher.start();
  app = await buildApp(config, publisher, undefined, { codec });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  worker = startWorker({ id: 'pii-worker', kind: 'pii', brokers, profileDb, logDir: dir, env });
  store = new PiiProfileStore(profileDb);
});
afterAll(async () => {
  await worker?.process.stop();
  await app?.close();
  await publisher?.stop();
  await producer?.disconnect();
  await admin?.disconnect();
  store?.close();
  keys?.close();
});

describe('PII sealed before Kafka, opened by the worker, erased by crypto-shredding', () => {
  it('no plaintext PII of any user reaches a topic; the worker opens it into the profile store', async () => {
    for (const p of people) {
      for (let i = 0; i < TRACKED; i++) {
        const answer = await track(url, { user_id: p.user, event_type: i === 0 ? 'signup' : 'page_view', properties: propsOf(p, i) }, { localAddress: p.ip });
        expect(answer.status).toBe(202);
      }
      const batch = await httpRequest({ url: `${url}/batch`, localAddress: p.ip,
        body: Array.from({ length: BATCHED }, (_, i) => ({ user_id: p.user, event_type: 'login', properties: propsOf(p, TRACKED + i) })) });
      expect(batch.status).toBe(202);
      expect(batch.body.accepted).toHaveLength(BATCHED);
    }
    // One of alice's events with two sealed fields swapped: its tags fail, so it goes through the retry lane to the DLQ.
    const sealed = JSON.parse((await codec.encode({ ...enrichedEvent(alice.user, 'profile_update', propsOf(alice, 99)), client_ip: alice.ip })).toString());
    [sealed.properties.email, sealed.properties.phone] = [sealed.properties.phone, sealed.properties.email];
    await producer.send({ topic, acks: -1, messages: [{ key: alice.user, value: JSON.stringify(sealed) }] });
    // And one sealed now, to be published after the erase.
    const late = { ...enrichedEvent(alice.user, 'purchase', propsOf(alice, 100)), client_ip: alice.ip };
    lateEventId = late.event_id;
    lateValue = await codec.encode(late);

    await waitFor('every event applied and the swapped one dead-lettered', async () =>
      store.processedCount() === people.length * (TRACKED + BATCHED) && await settled(), { timeoutMs: 90_000, intervalMs: 500 });

    const records = await everyTopic();
    expect([...records.keys()]).toEqual([byUserTopic, dlqTopic, topic, retryTopic].sort());
    expect(records.get(topic)).toHaveLength(people.length * (TRACKED + BATCHED) + 1);
    expect(records.get(retryTopic)).toHaveLength(1);
    expect(records.get(dlqTopic)).toHaveLength(1);
    const needles = people.flatMap((p) => [p.email, p.phone, p.name, p.ip]);
    const hits = plaintextHits(all(records), needles);
    console.log('plaintext hits in the topics:', JSON.stringify(hits));
    expect(Object.values(hits).reduce((a, b) => a + b)).toBe(0);

    for (const p of people) {
      expect(store.contact(p.user)).toEqual({ user_id: p.user, email: p.email, phone: p.phone, name: p.name, client_ip: p.ip });
      expect(store.profile(p.user)).toMatchObject({ event_count: TRACKED + BATCHED, login_count: BATCHED });
    }
  });

  it('erase refuses a tombstone topic that is not compacted, before deleting anything', async () => {
    // Counted in the table, not through keyFor(), which would create a missing key and so always find one.
    const kidsOf = (user: string) => (keys.db.prepare('SELECT kid FROM data_keys WHERE user_id = ? ORDER BY kid').all(user) as { kid: string }[]).map((r) => r.kid);
    const before = kidsOf(alice.user);
    expect(before).toHaveLength(1);
    const refused = await erase(alice.user, { ERASE_TOMBSTONE_TOPICS: topic });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`refusing to erase: ${topic} is not compacted`);
    expect(kidsOf(alice.user)).toEqual(before);
    expect(store.contact(alice.user)?.email).toBe(alice.email);
    expect(readAudit(auditLog)).toEqual([]);
  });

  it('after `npm run erase`, nothing of the user\'s PII is readable in any topic or the profile store; the others\' is; their events still count', async () => {
    aliceKids = (keys.db.prepare('SELECT kid FROM data_keys WHERE user_id = ?').all(alice.user) as { kid: string }[]).map((r) => r.kid);
    expect(aliceKids).toHaveLength(1);
    const before = tallySealed(all(await everyTopic()), keys);
    expect(countIn(profileBytes(), Buffer.from(alice.email))).toBeGreaterThan(0); // the byte search finds what is there

    const erased = await erase(alice.user, { ERASE_TOMBSTONE_TOPICS: byUserTopic });
    console.log(erased.stdout.trim());
    expect(erased.code).toBe(0);

    const records = await everyTopic();
    const perTopic = Object.fromEntries([...records].map(([t, r]) => [t.slice(run.length + 1), tallySealed(r, keys)]));
    console.log('sealed fields per topic after the erase (sealed / still opening):', JSON.stringify(perTopic));
    // Alice's ciphertexts are still in the events topic, the retry topic and the DLQ: none opens.
    for (const t of ['events', 'retry', 'dlq']) {
      expect(perTopic[t]!.sealed[alice.user]).toBeGreaterThan(0);
      expect(perTopic[t]!.opened[alice.user] ?? 0).toBe(0);
    }
    const after = tallySealed(all(records), keys);
    expect(after.sealed[alice.user]).toBe(before.sealed[alice.user]);
    // 4 sealed fields per event; the swapped event's copies (events, retry, DLQ) open only their ip and name.
    expect(before.opened[alice.user]).toBe((TRACKED + BATCHED) * 4 + 2 * 3);
    expect(after.opened[alice.user] ?? 0).toBe(0);
    // Everyone else's still opens, every field of every event.
    for (const p of [bob, carol]) {
      expect(after.opened[p.user]).toBe((TRACKED + BATCHED) * 4);
      expect(after.opened[p.user]).toBe(after.sealed[p.user]);
    }
    expect(plaintextHits(all(records), [alice.email, alice.phone, alice.name])).toEqual({ [alice.email]: 0, [alice.phone]: 0, [alice.name]: 0 });

    // The profile store: alice's rows are gone, down to the bytes of its files; bob's and carol's are there.
    expect(store.contact(alice.user)).toBeUndefined();
    expect(store.profile(alice.user)).toBeUndefined();
    for (const needle of [alice.email, alice.phone, alice.name]) expect(countIn(profileBytes(), Buffer.from(needle))).toBe(0);
    expect(countIn(profileBytes(), Buffer.from(bob.email))).toBeGreaterThan(0);
    expect(store.contact(carol.user)?.email).toBe(carol.email);

    // Non-PII aggregates still count alice: her records by key and type, her processed events.
    const aliceRecords = records.get(topic)!.filter((r) => r.key?.toString() === alice.user);
    expect(aliceRecords).toHaveLength(TRACKED + BATCHED + 1);
    const types = aliceRecords.map((r) => JSON.parse(r.value!.toString()).event_type as string);
    expect(types.filter((t) => t === 'login')).toHaveLength(BATCHED);
    expect(store.processed().filter((p) => p.user_id === alice.user)).toHaveLength(TRACKED + BATCHED);

    // The tombstone, and the audit entry.
    const tombstones = records.get(byUserTopic)!;
    expect(tombstones.map((r) => [r.key?.toString(), r.value])).toEqual([[alice.user, null]]);
    expect(readAudit(auditLog).map(({ actor, action, target, details }) => ({ actor, action, target, details }))).toEqual([
      { actor: 'dpo-dana', action: 'erase', target: alice.user, details: { keys_deleted: aliceKids, profile_rows: 1, contact_rows: 1, tombstones: [byUserTopic] } },
    ]);
  });

  it('erasing twice deletes nothing more, succeeds, and is audited again', async () => {
    const again = await erase(alice.user);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('0 data key(s) deleted');
    expect(readAudit(auditLog).map((r) => [r.action, r.target, r.details?.keys_deleted])).toEqual([
      ['erase', alice.user, aliceKids], ['erase', alice.user, []],
    ]);
    expect(verifyAuditLog(auditLog)).toEqual([]);
  });

  it('an event sealed before the erase and consumed after it is applied without its PII, not dead-lettered', async () => {
    await producer.send({ topic, acks: -1, messages: [{ key: alice.user, value: lateValue }] });
    await waitFor('the late event applied', () => store.processed().some((p) => p.event_id === lateEventId), { timeoutMs: 60_000 });
    await waitFor('both lanes drained', settled);
    expect(await topicMessageCount(brokers, retryTopic)).toBe(1); // only the swapped event's retry
    expect(await topicMessageCount(brokers, dlqTopic)).toBe(1);
    expect(store.contact(alice.user)).toBeUndefined();
    expect(store.profile(alice.user)).toMatchObject({ event_count: 1, login_count: 0 }); // counts only, no PII
    expect(countIn(profileBytes(), Buffer.from(alice.email))).toBe(0);
  });
});
