/**
 * The real Segment SDK (`@segment/analytics-node`, its own batching and retries) pointed at the
 * lab: host = nginx, which fronts two API replicas (processes) that reach Kafka through Toxiproxy;
 * a lab 02 worker applies the topic to its own profile store on the direct listener. Counted per
 * messageId: sent by the SDK, acked to it, copies in the topic, applied by the worker.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Analytics } from '@segment/analytics-node';
import { Toxiproxy } from 'toxiproxy-node-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApiReplica, type ApiReplica } from '../../../infra/api.js';
import { startNginx, type NginxServer } from '../../../infra/nginx.js';
import { waitFor } from '../../../infra/processes.js';
import { startWorker, type WorkerProcess } from '../../../infra/worker.js';
import { createTopic, readTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { waitForGroupDrained } from '../../../shared/testing/groups.js';
import { ProfileStore } from '../../02-consumer-groups/src/profile-store.js';
import { DEFAULT_SEGMENT_WRITE_KEY } from '../src/segment/write-key.js';

const { brokers, proxiedBrokers, toxiproxyUrl, kafkaProxyName } = inject('kafka');
const topic = uniqueTopic('lab01-segment-sdk');
const groupId = uniqueTopic('crm-event-processors');
const toxiproxy = new Toxiproxy(toxiproxyUrl);
let replicas: ApiReplica[] = [];
let nginx: NginxServer;
let worker: WorkerProcess;
let store: ProfileStore;

async function setProxy(enabled: boolean): Promise<void> {
  const proxy = await toxiproxy.get(kafkaProxyName);
  if (proxy.enabled !== enabled) await proxy.update({ enabled, listen: proxy.listen, upstream: proxy.upstream });
}

beforeAll(async () => {
  await setProxy(true);
  await createTopic(brokers, topic, 2);
  replicas = await Promise.all(['api-1', 'api-2'].map((id) =>
    startApiReplica({ id, brokers: proxiedBrokers, env: { KAFKA_TOPIC: topic, PUBLISH_TIMEOUT_MS: '1500' } })));
  nginx = await startNginx({ upstreams: replicas.map((r) => `127.0.0.1:${r.port}`) });
  const dir = mkdtempSync(join(tmpdir(), 'segment-sdk-'));
  worker = startWorker({ id: 'worker-1', brokers, profileDb: join(dir, 'profiles.db'), logDir: dir, env: { KAFKA_TOPIC: topic, CONSUMER_GROUP: groupId } });
  store = new ProfileStore(join(dir, 'profiles.db'));
});
afterAll(async () => {
  await setProxy(true);
  await nginx?.process.stop();
  await Promise.all(replicas.map((r) => r.process.stop()));
  await worker?.process.stop();
  store?.close();
});

/** One SDK client as a team would configure it, plus what it saw: each HTTP status, each event's outcome. */
function sdk() {
  const analytics = new Analytics({ writeKey: DEFAULT_SEGMENT_WRITE_KEY, host: nginx.url, flushAt: 5, flushInterval: 100, maxRetries: 10 });
  const statuses: number[] = [];
  analytics.on('http_response', (r) => statuses.push(r.status));
  const outcomes: Promise<{ messageId: string; error?: unknown }>[] = [];
  /** Event n for `user`, of each of Segment's six calls in turn; resolves when the SDK has delivered it or given up. */
  const send = (user: string, n: number) => outcomes.push(new Promise((resolve) => {
    const done = (error: unknown, ctx?: { event: { messageId?: string } }) => resolve({ messageId: ctx!.event.messageId!, error });
    const calls = [
      () => analytics.track({ userId: user, event: 'Order Completed', properties: { n } }, done),
      () => analytics.identify({ userId: user, traits: { plan: 'pro', n } }, done),
      () => analytics.page({ userId: user, name: 'Pricing', properties: { n } }, done),
      () => analytics.screen({ userId: user, name: 'Home', properties: { n } }, done),
      () => analytics.group({ userId: user, groupId: 'acme', traits: { n } }, done),
      () => analytics.alias({ userId: user, previousId: `anon-${n}` }, done),
    ];
    calls[(n + Number(user.at(-1))) % calls.length]!();
  }));
  return { analytics, statuses, outcomes, send };
}

/** Waits until the worker's group has committed every record of the topic. */
const drain = () => waitForGroupDrained(brokers, groupId, topic);

/** The topic's records by messageId (each copy's event_id), and the worker's event count per user. */
async function judge(prefix: string) {
  const copies = new Map<string, string[]>();
  for (const r of await readTopic(brokers, topic)) {
    if (!String(r.value.user_id).startsWith(prefix)) continue;
    const id = r.value.segment.message.messageId as string;
    copies.set(id, [...(copies.get(id) ?? []), r.value.event_id as string]);
  }
  const applied = Object.fromEntries(store.profiles().filter((p) => p.user_id.startsWith(prefix)).map((p) => [p.user_id, p.event_count]));
  return { copies, applied, extraCopies: [...copies.values()].reduce((sum, ids) => sum + ids.length - 1, 0) };
}

/** Events sent per user: computed here from what was sent, not read from the store. */
function sentPerUser(users: string[], perUser: number): Record<string, number> {
  return Object.fromEntries(users.map((u) => [u, perUser]));
}

const tally = (xs: number[]) => xs.reduce<Record<number, number>>((t, x) => ({ ...t, [x]: (t[x] ?? 0) + 1 }), {});

describe('the Segment SDK pointed at the lab', () => {
  it('sends 40 calls of the six Segment kinds (track, identify, page, screen, group, alias) through nginx: each acked, stored once in the topic and applied once by the worker', async () => {
    const users = Array.from({ length: 8 }, (_, u) => `sdk1_u${u}`);
    const { analytics, statuses, outcomes, send } = sdk();
    for (let n = 0; n < 5; n++) for (const user of users) send(user, n);
    const results = await Promise.all(outcomes);
    await analytics.closeAndFlush();
    await drain();
    const { copies, applied, extraCopies } = await judge('sdk1_');
    console.log(`[segment-sdk] sent=${results.length} failed=${results.filter((r) => r.error).length} http=${JSON.stringify(tally(statuses))} | topic: messageIds=${copies.size} records=${[...copies.values()].flat().length} extra_copies=${extraCopies} | worker: users=${Object.keys(applied).length} applied=${Object.values(applied).reduce((a, b) => a + b, 0)}`);

    expect(results.filter((r) => r.error)).toEqual([]);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect([...copies.keys()].sort()).toEqual(results.map((r) => r.messageId).sort());
    expect([...copies.values()].every((ids) => ids.length === 1)).toBe(true);
    expect(applied).toEqual(sentPerUser(users, 5));
  });

  it('keeps every event through a Kafka outage mid-run: the SDK gets 503s and retries, the topic holds each messageId at least once under one event_id, the worker applies each once', async () => {
    const users = Array.from({ length: 5 }, (_, u) => `sdk2_u${u}`);
    const { analytics, statuses, outcomes, send } = sdk();
    for (const user of users) send(user, 0);
    await Promise.all(outcomes);
    expect(statuses.every((s) => s === 200)).toBe(true);

    await setProxy(false);
    for (let n = 1; n < 6; n++) for (const user of users) send(user, n);
    try {
      await waitFor('the SDK to get 503s', () => statuses.filter((s) => s === 503).length >= 2, { timeoutMs: 30_000, intervalMs: 100 });
    } finally {
      await setProxy(true);
    }
    const results = await Promise.all(outcomes);
    await analytics.closeAndFlush();
    await drain();
    const { copies, applied, extraCopies } = await judge('sdk2_');
    console.log(`[segment-sdk kafka-down] sent=${results.length} failed=${results.filter((r) => r.error).length} http=${JSON.stringify(tally(statuses))} | topic: messageIds=${copies.size} records=${[...copies.values()].flat().length} extra_copies=${extraCopies} | worker: users=${Object.keys(applied).length} applied=${Object.values(applied).reduce((a, b) => a + b, 0)} duplicates_skipped=${store.duplicatesSkipped()}`);

    // The fault bit: the SDK saw 503s and retried until each of its events was acked.
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(2);
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(results.filter((r) => r.error)).toEqual([]);
    // None lost: every messageId is in the topic; its copies (a retry of a batch Kafka had partly
    // stored, or a produce request landing after its 503) share one event_id…
    expect([...copies.keys()].sort()).toEqual(results.map((r) => r.messageId).sort());
    for (const [messageId, ids] of copies) expect(new Set(ids).size, messageId).toBe(1);
    // …so the worker applies each event once, and skipped exactly the extra copies (the first test stored none).
    expect(applied).toEqual(sentPerUser(users, 6));
    expect(store.duplicatesSkipped()).toBe(extraCopies);
  });
});
