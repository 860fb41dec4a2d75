/**
 * The batching publisher against the real broker: events that arrive together share a produce
 * request, each is acked at its own offset, a user's events keep their order, and a 503'd event
 * is stored once or not at all (with Toxiproxy slowing the broker's answers).
 */
import { randomUUID } from 'node:crypto';
import { Toxiproxy } from 'toxiproxy-node-client';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../shared/config.js';
import { createKafka } from '../../../shared/kafka.js';
import type { EnrichedEvent } from '../../../shared/schema.js';
import { createTopic, readTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { startInProcessApi, type InProcessApi } from './in-process-api.js';
import { track } from '../../../shared/testing/http.js';
import { EventPublisher, KafkaUnavailableError, publisherOptionsFrom, type EventAck } from '../src/publisher.js';

const { brokers, proxiedBrokers, toxiproxyUrl, kafkaProxyName } = inject('kafka');
const toxiproxy = new Toxiproxy(toxiproxyUrl);
const publishers: EventPublisher[] = [];
const apis: InProcessApi[] = [];

async function startPublisher(topic: string, env: Record<string, string>, via = brokers): Promise<EventPublisher> {
  await createTopic(brokers, topic, 2);
  const config = loadConfig({ ...env, KAFKA_TOPIC: topic, KAFKA_BROKERS: via.join(',') });
  const publisher = new EventPublisher(createKafka(via, 'crm-lab-test-publisher'), publisherOptionsFrom(config));
  publishers.push(publisher);
  await publisher.start();
  return publisher;
}

/** The proxy is shared by the whole test run: always put it back as it was. */
async function restoreProxy(): Promise<void> {
  const proxy = await toxiproxy.get(kafkaProxyName);
  const { data: toxics } = await proxy.api.get<{ name: string }[]>(`${proxy.getPath()}/toxics`);
  for (const toxic of toxics ?? []) await (await proxy.getToxic(toxic.name)).remove();
}
afterEach(restoreProxy);
afterAll(async () => {
  await Promise.all(publishers.map((p) => p.stop().catch(() => undefined)));
  await Promise.all(apis.map((a) => a.close().catch(() => undefined)));
});

const event = (user_id: string, n: number): EnrichedEvent => ({
  user_id, event_type: 'page_view', properties: { n }, event_id: randomUUID(), server_timestamp: new Date().toISOString(), client_ip: '127.0.0.1',
});

describe('the batching publisher (PRODUCER_LINGER_MS)', () => {
  it('sends events that arrive within the linger in one produce request, and acks each at its own offset', async () => {
    const topic = uniqueTopic('lab01-batch');
    const publisher = await startPublisher(topic, { PRODUCER_LINGER_MS: '20' });
    const events = Array.from({ length: 50 }, (_, n) => event(`batch_user_${n % 5}`, n));
    const acks = await Promise.all(events.map((e) => publisher.publish(e)));
    expect(publisher.stats).toMatchObject({ batches: 1, events: 50 });

    const stored = new Map((await readTopic(brokers, topic)).map((r) => [r.value.event_id as string, { partition: r.partition, offset: r.offset }]));
    expect(stored.size).toBe(50);
    expect(events.map((e) => stored.get(e.event_id))).toEqual(acks);
  });

  it('with PRODUCER_LINGER_MS=0 sends one produce request per event (the first design, for comparison)', async () => {
    const topic = uniqueTopic('lab01-unbatched');
    const publisher = await startPublisher(topic, { PRODUCER_LINGER_MS: '0', KAFKA_PRODUCER_IDEMPOTENT: 'false' });
    const events = Array.from({ length: 20 }, (_, n) => event(`single_user_${n % 5}`, n));
    const acks = await Promise.all(events.map((e) => publisher.publish(e)));
    expect(publisher.stats).toMatchObject({ batches: 20, events: 20 });
    const stored = new Map((await readTopic(brokers, topic)).map((r) => [r.value.event_id as string, { partition: r.partition, offset: r.offset }]));
    expect(events.map((e) => stored.get(e.event_id))).toEqual(acks);
  });

  it('stores a pre-encoded value (lab 05\'s Avro) as given instead of the event\'s JSON, batched and alone', async () => {
    for (const linger of ['20', '0']) {
      const topic = uniqueTopic(`lab01-encoded-${linger}`);
      const publisher = await startPublisher(topic, { PRODUCER_LINGER_MS: linger, KAFKA_PRODUCER_IDEMPOTENT: linger === '0' ? 'false' : 'true' });
      const events = Array.from({ length: 4 }, (_, n) => event(`encoded_user_${n}`, n));
      // Bytes that are not JSON.stringify(event): what the topic holds tells which was sent.
      await Promise.all(events.map((e) => publisher.publish(e, {}, Buffer.from(JSON.stringify({ encoded_as: 'given', event_id: e.event_id })))));
      const stored = await readTopic(brokers, topic);
      expect(stored.map((r) => r.value).sort((a, b) => String(a.event_id).localeCompare(String(b.event_id))))
        .toEqual(events.map((e) => ({ encoded_as: 'given', event_id: e.event_id })).sort((a, b) => a.event_id.localeCompare(b.event_id)));
    }
  });

  it('refuses PRODUCER_LINGER_MS=0 with the idempotent producer, naming the setting that fixes it', () => {
    const config = loadConfig({ PRODUCER_LINGER_MS: '0' });
    expect(() => new EventPublisher(createKafka(brokers, 'crm-lab-test-publisher'), publisherOptionsFrom(config)))
      .toThrow(/KAFKA_PRODUCER_IDEMPOTENT=false/);
  });

  it('keeps each user\'s order when the users\' events share produce requests', async () => {
    const topic = uniqueTopic('lab01-batch-order');
    const publisher = await startPublisher(topic, {});
    const users = Array.from({ length: 10 }, (_, u) => `ordered_user_${u}`);
    const sent = new Map<string, string[]>(users.map((u) => [u, []]));
    // Each user sends one event at a time (waits for its ack); the ten users send concurrently.
    await Promise.all(users.map(async (user) => {
      for (let n = 0; n < 30; n++) {
        const e = event(user, n);
        await publisher.publish(e);
        sent.get(user)!.push(e.event_id);
      }
    }));
    expect(publisher.stats.events).toBe(300);
    expect(publisher.stats.batches).toBeLessThan(300); // events did share produce requests
    const records = await readTopic(brokers, topic);
    for (const user of users) expect(records.filter((r) => r.key === user).map((r) => r.value.event_id)).toEqual(sent.get(user));
  });

  it('stores a 503\'d event once or not at all: only the produce request in flight may land after its 503', async () => {
    const topic = uniqueTopic('lab01-batch-timeout');
    const publisher = await startPublisher(topic, { PUBLISH_TIMEOUT_MS: '1000', PRODUCER_MAX_QUEUED_EVENTS: '10' }, proxiedBrokers);
    await publisher.publish(event('timeout_user', -1)); // connected and warm

    // The broker's answers now take 3 s: longer than PUBLISH_TIMEOUT_MS (1 s), shorter than kafkajs' request timeout (10 s).
    const proxy = await toxiproxy.get(kafkaProxyName);
    await proxy.addToxic({ name: 'slow-answers', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 3_000, jitter: 0 } } as never);

    const first = event('timeout_user', 0);
    const firstOutcome = publisher.publish(first).then(() => 'acked', (e: KafkaUnavailableError) => e.fate);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the first event's produce request is in flight
    const rest = Array.from({ length: 15 }, (_, n) => event('timeout_user', n + 1));
    const restOutcomes = await Promise.all(rest.map((e) => publisher.publish(e).then(() => 'acked', (err: KafkaUnavailableError) => err.fate)));

    expect(await firstOutcome).toBe('unknown'); // answered 503 while in flight
    // 10 waited in the queue and expired there, 5 found it full and were refused at once; none was sent.
    expect(restOutcomes).toEqual(Array(15).fill('not-sent'));
    expect(publisher.stats).toMatchObject({ expiredInQueue: 10, refusedQueueFull: 5 });

    await restoreProxy();
    await publisher.idle();
    const copies = new Map<string, number>();
    for (const r of await readTopic(brokers, topic)) copies.set(r.value.event_id, (copies.get(r.value.event_id) ?? 0) + 1);
    expect(copies.get(first.event_id) ?? 0).toBeLessThanOrEqual(1);
    expect(publisher.stats.storedAfterTimeout).toBe(copies.get(first.event_id) ?? 0);
    expect(rest.filter((e) => copies.has(e.event_id))).toEqual([]);
    console.log(`503'd while in flight: stored ${copies.get(first.event_id) ?? 0} time(s) after its 503; 15 503'd before sending: stored 0 times`);

    const after: EventAck = await publisher.publish(event('timeout_user', 99));
    expect(after.offset).toBeGreaterThan(0);
  });
});

describe('the unbatched publisher (PRODUCER_LINGER_MS=0) after a 503', () => {
  it('caps the sends still pending after their 503: beyond PRODUCER_MAX_QUEUED_EVENTS an event is refused unsent, and none is stored twice', async () => {
    const topic = uniqueTopic('lab01-unbatched-cap');
    const publisher = await startPublisher(topic, {
      PRODUCER_LINGER_MS: '0', KAFKA_PRODUCER_IDEMPOTENT: 'false', PUBLISH_TIMEOUT_MS: '1000', PRODUCER_MAX_QUEUED_EVENTS: '5',
    }, proxiedBrokers);
    await publisher.publish(event('unbatched_cap_user', -1)); // connected and warm

    // The broker's answers now take 3 s: longer than PUBLISH_TIMEOUT_MS (1 s), shorter than kafkajs' request timeout (10 s).
    const proxy = await toxiproxy.get(kafkaProxyName);
    await proxy.addToxic({ name: 'slow-answers', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 3_000, jitter: 0 } } as never);

    const outcome = (e: EnrichedEvent) => publisher.publish(e).then(() => 'acked', (err: KafkaUnavailableError) => err.fate);
    const pending = Array.from({ length: 5 }, (_, n) => event('unbatched_cap_user', n));
    // Answered 503 after 1 s, and still being sent by kafkajs.
    expect(await Promise.all(pending.map(outcome))).toEqual(Array(5).fill('unknown'));
    const beyond = Array.from({ length: 3 }, (_, n) => event('unbatched_cap_user', 5 + n));
    expect(await Promise.all(beyond.map(outcome))).toEqual(Array(3).fill('not-sent'));
    expect(publisher.stats).toMatchObject({ refusedQueueFull: 3, events: 1 + 5 });

    await restoreProxy();
    await publisher.idle(); // every send settled by kafkajs
    const copies = new Map<string, number>();
    for (const r of await readTopic(brokers, topic)) copies.set(r.value.event_id, (copies.get(r.value.event_id) ?? 0) + 1);
    expect(pending.map((e) => copies.get(e.event_id) ?? 0).filter((c) => c > 1)).toEqual([]);
    expect(publisher.stats.storedAfterTimeout).toBe(pending.filter((e) => copies.has(e.event_id)).length);
    expect(beyond.filter((e) => copies.has(e.event_id))).toEqual([]);
    console.log(`linger 0: 5 sends 503'd while pending, stored ${publisher.stats.storedAfterTimeout} of them after their 503 (each once); 3 refused beyond the cap, stored 0 times`);
    // The cap frees as kafkajs settles the sends.
    expect(await outcome(event('unbatched_cap_user', 99))).toBe('acked');
  });
});

describe('POST /track when the batch its event is in times out', () => {
  it('answers 503 to every request of the batch, each naming its own event_id, and stores each at most once', async () => {
    const topic = uniqueTopic('lab01-track-batch-timeout');
    await createTopic(brokers, topic, 2);
    // The N concurrent requests below fill one batch (PRODUCER_BATCH_MAX_EVENTS), which then leaves at
    // once; the long linger only keeps them together should they arrive slowly.
    const N = 20;
    const api = await startInProcessApi(proxiedBrokers, {
      KAFKA_TOPIC: topic, PUBLISH_TIMEOUT_MS: '2000', PRODUCER_LINGER_MS: '1000', PRODUCER_BATCH_MAX_EVENTS: String(N), LOG_LEVEL: 'error',
    });
    apis.push(api);
    const warm = await track(api.url, { user_id: 'shared_batch_warm', event_type: 'x' }, { localAddress: '127.0.7.1' });
    expect(warm.status).toBe(202);
    const before = { ...api.publisher.stats };

    // The broker's answers now take 4 s: longer than PUBLISH_TIMEOUT_MS (2 s), shorter than kafkajs' request timeout (10 s).
    const proxy = await toxiproxy.get(kafkaProxyName);
    await proxy.addToxic({ name: 'slow-answers', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 4_000, jitter: 0 } } as never);

    // Half send their own event_id, half let the API assign one; each is a distinct user.
    const sent = Array.from({ length: N }, (_, n) => ({
      user_id: `shared_batch_${n}`, event_type: 'page_view', properties: { n },
      ...(n % 2 === 0 ? { event_id: randomUUID() } : {}),
    }));
    const answers = await Promise.all(sent.map((e) => track(api.url, e, { localAddress: '127.0.7.1', timeoutMs: 30_000 })));

    // They did share one produce request, and it timed out.
    expect({ batches: api.publisher.stats.batches - before.batches, events: api.publisher.stats.events - before.events }).toEqual({ batches: 1, events: N });
    for (const [n, res] of answers.entries()) {
      expect({ n, status: res.status, error: res.body.error, retryAfter: res.headers['retry-after'] })
        .toEqual({ n, status: 503, error: 'kafka_unavailable', retryAfter: '1' });
      expect(res.body.message).toContain('may yet store it');
    }
    const ids = answers.map((r) => r.body.event_id as string);
    // A client's own id comes back as sent; an assigned one is a fresh v4 UUID (this caller is not the
    // trusted proxy: no id derived from X-Request-Id), none of the clients'. Which id each assigned one
    // really is, is checked below on the stored copies: the record of event n carries the id answered to n.
    const clientIds = sent.map((e) => e.event_id).filter((id) => id !== undefined);
    for (const [n, id] of ids.entries()) {
      if (sent[n]!.event_id) expect({ n, id }).toEqual({ n, id: sent[n]!.event_id });
      else {
        expect({ n, id }).toEqual({ n, id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/) });
        expect(clientIds).not.toContain(id);
      }
    }
    expect(new Set(ids).size).toBe(N);

    await restoreProxy();
    await api.publisher.idle();
    const stored = (await readTopic(brokers, topic)).filter((r) => String(r.key).startsWith('shared_batch_') && r.key !== 'shared_batch_warm');
    const copies = new Map<string, number>();
    for (const r of stored) copies.set(r.value.event_id, (copies.get(r.value.event_id) ?? 0) + 1);
    // At most once each, and a stored one is the request that was told its id.
    expect([...copies.values()].filter((c) => c > 1)).toEqual([]);
    for (const r of stored) expect({ n: r.value.properties.n, id: r.value.event_id }).toEqual({ n: r.value.properties.n, id: ids[r.value.properties.n] });
    // The check above sees the assigned ids only on stored copies: the broker got the batch (the toxic
    // delays answers, not requests), so expect the assigned ones among them, not a vacuous pass.
    expect(stored.filter((r) => sent[r.value.properties.n]!.event_id === undefined).length).toBeGreaterThan(0);
    expect(stored.length).toBe(api.publisher.stats.storedAfterTimeout - before.storedAfterTimeout);
    console.log(`${N} concurrent /track requests in one timed-out produce request: ${N} × 503 with ${new Set(ids).size} distinct event_ids; stored after the 503: ${stored.length} (each once)`);
  });
});
