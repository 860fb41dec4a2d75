/**
 * A replica that dies after Kafka's ack and before its 202 (src/fault-point.ts,
 * FAULT_POINT=after-ack-before-reply). The event is already in Kafka — no write-ahead log would
 * help, there is nothing left to write — but the client only sees its connection cut, so it retries,
 * and the risk is a duplicate. The client's `event_id` (the body field, its idempotency key) makes
 * the retry the same event: the workers' dedupe keeps one copy. Without it, one event counts twice.
 *
 * How the crash is placed: the N events are sent at once to the faulty replica, which dies on the
 * first ack. Every request on it is cut off: those in the produce request that was acked (one at
 * least) are in Kafka, the others are not (or were refused a connection once it was dead). Each
 * client retries on a healthy replica with the same body, so every event has 1 or 2 copies and at
 * least one has 2. One death covers both cases, instead of one replica restart per event.
 *
 * Real processes throughout: two API replicas (labs/01-ingest/src/server.ts) and a lab 02 worker
 * writing its own profile store, on the shared broker.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startApiReplica } from '../../../infra/api.js';
import { sleep } from '../../../infra/processes.js';
import { startWorker, type WorkerProcess } from '../../../infra/worker.js';
import { loadConfig } from '../../../shared/config.js';
import { track } from '../../../shared/testing/http.js';
import { createTopic, readTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { waitForGroupDrained } from '../../../shared/testing/groups.js';
import { ProfileStore } from '../../02-consumer-groups/src/profile-store.js';
import { faultPointFrom } from '../src/fault-point.js';

const { brokers } = inject('kafka');
const EVENTS = 20;
const USERS = 5;
const userOf = (n: number) => `ack-crash-u${n % USERS}`;

/** What one run left: the clients' view, the topic, and the worker's store. */
interface Run {
  firstAttemptErrors: string[];
  retries: { n: number; status: number; event_id?: string; sent_id?: string }[];
  /** Every record of the run's topic: the client's sequence number n and the event_id stored. */
  records: { n: number; user_id: string; event_id: string }[];
  store: ProfileStore;
  killedBy: number | string;
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.map((stop) => stop()));
  cleanup = [];
});

/** Sends EVENTS logins at once to a replica that dies on its first ack, then retries each on a healthy one. */
async function crashAndRetry(o: { reuseEventId: boolean }): Promise<Run> {
  const topic = uniqueTopic('lab01-ack-then-crash');
  await createTopic(brokers, topic, 2);
  const env = { KAFKA_TOPIC: topic, RATE_LIMIT_MAX: '100000' };
  const [faulty, healthy] = await Promise.all([
    startApiReplica({ id: 'api-faulty', brokers, env: { ...env, FAULT_POINT: 'after-ack-before-reply' } }),
    startApiReplica({ id: 'api-healthy', brokers, env }),
  ]);
  cleanup.push(() => faulty.process.stop(), () => healthy.process.stop());
  const dir = mkdtempSync(join(tmpdir(), 'ack-then-crash-'));
  const groupId = uniqueTopic('crm-event-processors');
  const worker: WorkerProcess = startWorker({ id: 'worker-1', brokers, profileDb: join(dir, 'profiles.db'), logDir: dir,
    env: { KAFKA_TOPIC: topic, CONSUMER_GROUP: groupId } });
  const store = new ProfileStore(join(dir, 'profiles.db'));
  cleanup.push(async () => {
    await worker.process.stop();
    store.close();
  });

  // The client's event: the same body on both attempts, with an event_id only when it reuses one.
  const bodies = Array.from({ length: EVENTS }, (_, n) => ({
    user_id: userOf(n), event_type: 'login', properties: { n },
    ...(o.reuseEventId ? { event_id: randomUUID() } : {}),
  }));
  const first = await Promise.allSettled(bodies.map((body) => track(faulty.url, body)));
  // Without its fault point the replica would answer and live on: the assertions then say so.
  const killedBy = await Promise.race([faulty.process.exited, sleep(30_000).then(() => 'still running')]);
  const firstAttemptErrors = first.map((r) => r.status === 'rejected' ? String((r.reason as { code?: string }).code ?? r.reason) : `HTTP ${r.value.status}`);

  const retries = await Promise.all(bodies.map(async (body, n) => {
    const r = await track(healthy.url, body);
    return { n, status: r.status, event_id: r.body?.event_id as string | undefined, sent_id: body.event_id };
  }));

  await drain(topic, groupId);
  const records = (await readTopic(brokers, topic)).map((r) => ({ n: r.value.properties.n as number, user_id: r.value.user_id as string, event_id: r.value.event_id as string }));
  return { firstAttemptErrors, retries, records, store, killedBy };
}

/** Waits until the worker's group has committed every record of the topic. */
const drain = (topic: string, groupId: string) => waitForGroupDrained(brokers, groupId, topic);

/** Copies stored per client event (by n), each with its event_id. */
function copiesByEvent(run: Run): Map<number, string[]> {
  const copies = new Map<number, string[]>();
  for (const r of run.records) copies.set(r.n, [...(copies.get(r.n) ?? []), r.event_id]);
  return copies;
}

/** The logins each user's profile must hold when every client event counts once: computed here, not by the store. */
function loginsSent(): Record<string, number> {
  const expected: Record<string, number> = {};
  for (let n = 0; n < EVENTS; n++) expected[userOf(n)] = (expected[userOf(n)] ?? 0) + 1;
  return expected;
}

const loginsApplied = (store: ProfileStore) => Object.fromEntries(store.profiles().map((p) => [p.user_id, p.login_count]));

function summary(label: string, run: Run, copies: Map<number, string[]>): string {
  const tally = (xs: string[]) => Object.entries(xs.reduce<Record<string, number>>((t, x) => ({ ...t, [x]: (t[x] ?? 0) + 1 }), {})).map(([k, v]) => `${k}=${v}`).join(',');
  const doubled = [...copies.values()].filter((ids) => ids.length === 2);
  return `[${label}] the faulty replica died (${run.killedBy}) on its first ack; first attempts: ${tally(run.firstAttemptErrors)} | retries: ${tally(run.retries.map((r) => String(r.status)))}`
    + ` | topic: records=${run.records.length} events=${copies.size} stored_twice=${doubled.length} distinct_event_ids=${new Set(run.records.map((r) => r.event_id)).size}`
    + ` | worker: applied=${run.store.processedCount()} duplicates_skipped=${run.store.duplicatesSkipped()}`;
}

describe('a crash between the broker\'s ack and the reply', () => {
  it('a replica killed between Kafka\'s ack and its reply: the retry reuses the event_id, at most 2 copies in Kafka, applied once, none lost', async () => {
    const run = await crashAndRetry({ reuseEventId: true });
    const copies = copiesByEvent(run);
    console.log(summary('ack-then-crash', run, copies));

    // The replica died by its fault point; no client got a 202 from it, each saw its connection fail.
    expect(['SIGKILL', 137]).toContain(run.killedBy);
    expect(run.firstAttemptErrors.filter((e) => e.startsWith('HTTP'))).toEqual([]);
    // Every retry was accepted: none lost, each at most twice in Kafka, and the crash did duplicate.
    expect(run.retries.map((r) => r.status)).toEqual(Array(EVENTS).fill(202));
    expect([...copies.keys()].sort((a, b) => a - b)).toEqual([...Array(EVENTS).keys()]);
    expect(Math.max(...[...copies.values()].map((ids) => ids.length))).toBeLessThanOrEqual(2);
    const storedTwice = [...copies.values()].filter((ids) => ids.length === 2).length;
    expect(storedTwice).toBeGreaterThanOrEqual(1);
    // Applied once: each user's logins are the events sent for them, not the records stored.
    expect(loginsApplied(run.store)).toEqual(loginsSent());
    expect(run.store.processedCount()).toBe(EVENTS);
    expect(run.store.duplicatesSkipped()).toBe(storedTwice);
    // Because both copies are one event: the same event_id, the one the client chose, echoed in the 202.
    for (const [n, ids] of copies) expect(new Set(ids), `event ${n}`).toEqual(new Set([run.retries[n]!.sent_id]));
    for (const r of run.retries) expect(r.event_id).toBe(r.sent_id);
  });

  it('the same crash with a retry under a fresh event_id is applied twice', async () => {
    const run = await crashAndRetry({ reuseEventId: false });
    const copies = copiesByEvent(run);
    console.log(summary('ack-then-crash, fresh id', run, copies));

    expect(['SIGKILL', 137]).toContain(run.killedBy);
    expect(run.retries.map((r) => r.status)).toEqual(Array(EVENTS).fill(202));
    expect(copies.size).toBe(EVENTS);
    // Some events are stored twice, under two event_ids (the API chose one per attempt)…
    const doubled = [...copies.entries()].filter(([, ids]) => ids.length === 2);
    expect(doubled.length).toBeGreaterThanOrEqual(1);
    // …so the worker applied both: each such event counts twice in its user's logins.
    const expected = loginsSent();
    for (const [n] of doubled) expected[userOf(n)] = expected[userOf(n)]! + 1;
    expect(loginsApplied(run.store)).toEqual(expected);
    for (const [, ids] of doubled) expect(new Set(ids).size).toBe(2);
    expect(run.store.processedCount()).toBe(EVENTS + doubled.length);
    expect(run.store.duplicatesSkipped()).toBe(0);
  });

  it('has no fault point unless FAULT_POINT names one; an unknown name is refused, and the config accepts the variable', () => {
    expect(faultPointFrom({})).toBeUndefined();
    expect(faultPointFrom({ FAULT_POINT: 'after-ack-before-reply' })).toBe('after-ack-before-reply');
    expect(() => faultPointFrom({ FAULT_POINT: 'after-ack' })).toThrow(/FAULT_POINT \(=after-ack\): expected one of after-ack-before-reply/);
    expect(() => loadConfig({ FAULT_POINT: 'after-ack-before-reply' })).not.toThrow();
  });
});
