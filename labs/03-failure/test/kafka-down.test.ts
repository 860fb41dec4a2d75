/**
 * Scenario 2: Kafka goes away behind Toxiproxy, three ways: the proxy is disabled ("down"),
 * a timeout toxic swallows the broker's answers, a latency toxic delays them beyond, then
 * below, PUBLISH_TIMEOUT_MS. Each test first proves the fault bites, then removes it and
 * asserts recovery. The API runs in this process; only its Kafka connection goes through the
 * proxy (the test's own reads use the direct listener). RATE_LIMIT_MAX is raised to 100000 so
 * that the app limit never answers instead of Kafka. A worker (lab 04's) consumes the topic on the
 * direct listener, so the checker also judges what was applied.
 */
import { Toxiproxy } from 'toxiproxy-node-client';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../../../infra/processes.js';
import { TrackClient, type Delivery } from '../../../shared/retry.js';
import { createTopic, topicMessageCount, uniqueTopic } from '../../../shared/testing/kafka.js';
import { startInProcessApi, type InProcessApi } from '../../01-ingest/test/in-process-api.js';
import { checkScenario, eventProducerIsIdempotent, Ledger, markTopic, reportTimeline, runLoad, summaryLine, type TopicMark } from '../src/chaos.js';
import { violations, type Tolerated } from '../src/checker.js';
import { scenarioWorkers, type ScenarioWorkers } from '../src/workers.js';
import { maxOf } from '../src/max-of.js';

const { brokers, proxiedBrokers, toxiproxyUrl, kafkaProxyName } = inject('kafka');
const PUBLISH_TIMEOUT_MS = 1_500;
/** A 503 must come within PUBLISH_TIMEOUT_MS; the client allows this much on top before calling it a hang. */
const ANSWER_SLACK_MS = 3_000;
const topic = uniqueTopic('lab03-kafka-down');
const toxiproxy = new Toxiproxy(toxiproxyUrl);
let api: InProcessApi;
let consumers: ScenarioWorkers;

/** The proxy is shared by the whole test run: always put it back as it was. */
async function restoreProxy(): Promise<void> {
  const proxy = await toxiproxy.get(kafkaProxyName);
  if (!proxy.enabled) await proxy.update({ enabled: true, listen: proxy.listen, upstream: proxy.upstream });
  const { data: toxics } = await proxy.api.get<{ name: string }[]>(`${proxy.getPath()}/toxics`);
  for (const toxic of toxics ?? []) await (await proxy.getToxic(toxic.name)).remove();
}

beforeAll(async () => {
  await restoreProxy();
  await createTopic(brokers, topic, 2);
  api = await startInProcessApi(proxiedBrokers, {
    KAFKA_TOPIC: topic,
    PUBLISH_TIMEOUT_MS: String(PUBLISH_TIMEOUT_MS),
    RATE_LIMIT_MAX: '100000',
    LOG_LEVEL: 'error', // the 503s are counted below; no warning line per request
  });
  // The fault is between the API and Kafka: the worker reads on the direct listener.
  consumers = await scenarioWorkers({ brokers, topic, label: 'lab03-kafka-down' });
  consumers.start('worker-1');
});
afterEach(restoreProxy);
afterAll(async () => {
  await restoreProxy();
  await api?.close();
  await consumers?.close();
});

let eventNo = 0;
/** Each retrying client writes to its own user, so the checker can compare its events' order. Every third event is a login. */
const event = (label: string, user = 'probe') => {
  const n = eventNo++;
  return { user_id: `${label}_user_${user}`, event_type: n % 3 === 0 ? 'login' : 'page_view', properties: { n } };
};

/** Single attempts, one after the other: what the API answers right now. */
async function probe(ledger: Ledger, label: string, count: number, address: string): Promise<Delivery[]> {
  const client = new TrackClient(api.url, { maxAttempts: 1, localAddress: address, timeoutMs: PUBLISH_TIMEOUT_MS + ANSWER_SLACK_MS,
    onAttempt: ledger.onAttempt });
  const out: Delivery[] = [];
  try {
    for (let i = 0; i < count; i++) out.push(await client.send(event(label)));
  } finally {
    client.close();
  }
  for (const d of out) ledger.record(d, address);
  return out;
}
const statuses = (ds: Delivery[]) => ds.map((d) => d.status ?? d.attempts.at(-1)?.error);

/** Waits until a fresh event gets a 202 (the producer reconnected and its backlog drained). */
async function untilAccepted(ledger: Ledger, label: string, address: string): Promise<void> {
  await waitFor('a 202 from the API', async () => (await probe(ledger, label, 1, address))[0]!.delivered, { timeoutMs: 60_000, intervalMs: 500 });
}

/** Retrying clients sending during the fault; resolves when every event has its final outcome. */
function retryingLoad(ledger: Ledger, label: string, events: number, firstAddress: number) {
  return runLoad({
    baseUrl: api.url,
    ledger,
    clients: 3,
    ratePerClient: 4,
    maxEvents: events,
    localAddress: (c) => `127.0.3.${firstAddress + c}`,
    event: (_, c) => event(label, `c${c}`),
    // 503s come with Retry-After: 1; up to 15 attempts covers ~15-30 s of outage.
    clientOptions: { maxAttempts: 15, baseDelayMs: 250, maxDelayMs: 2_000, timeoutMs: PUBLISH_TIMEOUT_MS + ANSWER_SLACK_MS },
  });
}

/** kafkajs' retries of one produce request (`retry.retries` in shared/kafka.ts createEventProducer). */
const PRODUCER_RETRIES = 3;

/**
 * What a fault tolerates. A 503 from a publish timeout does not mean "not written": the write may
 * land later, and the client's retry stores a second copy, so retry duplicates are bounded by the
 * events that got a 503. Copies beyond the client's attempts come from the producer re-sending a
 * request whose answer it never got: none when the producer is idempotent (the broker drops the
 * re-sent batch by its sequence number); without idempotence, at most one per event caught by the
 * fault, each with at most PRODUCER_RETRIES copies beyond its HTTP attempts (every re-send of a
 * request whose answer was swallowed may have been written).
 */
function toleratedAfter(ledger: Ledger): Tolerated {
  const hit503 = ledger.deliveries.filter((d) => d.attempts.some((a) => a.status === 503)).length;
  const idempotent = eventProducerIsIdempotent();
  return { 'duplicated-by-retry': hit503, 'duplicated-server-side': idempotent ? 0 : hit503, extraCopies: idempotent ? 0 : PRODUCER_RETRIES };
}

/** Settles (backlogged sends reach the topic), judges the topic range against the ledger, prints and asserts the summary. */
async function finish(label: string, mark: TopicMark, ledger: Ledger, tolerated: Tolerated, extra: Record<string, string | number> = {}) {
  await waitFor('the topic to stop growing', async () => {
    const a = await topicMessageCount(brokers, topic);
    await new Promise((r) => setTimeout(r, 1_000));
    return a === (await topicMessageCount(brokers, topic));
  }, { timeoutMs: 30_000, intervalMs: 0 });
  await consumers.drain();
  const verdict = await checkScenario(brokers, mark, ledger, consumers.store);
  const answered503 = ledger.attempts.filter((a) => a.status === 503);
  const slowest503 = maxOf(answered503.map((a) => a.elapsedMs), 0);
  console.log(summaryLine(label, ledger, verdict, tolerated, {
    producer: eventProducerIsIdempotent() ? 'idempotent' : 'non-idempotent',
    slowest_503_ms: slowest503.toFixed(0), publish_timeout_ms: PUBLISH_TIMEOUT_MS, ...extra,
  }));
  reportTimeline(label, ledger);
  // 202 means stored; nothing stored that no client sent; each client's events in the order sent;
  // duplicates within the fault's bounds; every stored event applied once by the worker, profiles exact.
  expect(violations(verdict, tolerated)).toEqual([]);
  expect(verdict.counts.applied).toBe(verdict.counts.distinct);
  // Each client (probe or retrying) sends one event at a time to its own user: pairs were compared.
  expect(verdict.counts.orderChecks).toBeGreaterThan(0);
  // The fault never produced a 5xx other than 503, nor a hang (a client-side timeout).
  expect(Object.keys(ledger.tally()).filter((k) => !['202', '503'].includes(k))).toEqual([]);
  // Every event got its 202 in the end: the clients' retries outlasted the fault.
  expect(ledger.deliveries.filter((d) => !d.delivered && d.attempts.length > 1).map((d) => d.gaveUp)).toEqual([]);
  return verdict;
}

describe('scenario 2: Kafka becomes unreachable from the API (Toxiproxy)', () => {
  it('proxy disabled ("down"): 503s and nothing written while down, then every event delivered', async () => {
    const mark = await markTopic(brokers, topic);
    const ledger = new Ledger();
    await untilAccepted(ledger, 'down', '127.0.3.10');
    const proxy = await toxiproxy.get(kafkaProxyName);
    const proxyBack = ledger.fault('proxy disabled');
    await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });

    // It bites: every request gets a 503 (not a hang, not a 202) and the topic does not grow.
    const before = await topicMessageCount(brokers, topic);
    const probes = await probe(ledger, 'down', 4, '127.0.3.10');
    expect(statuses(probes)).toEqual([503, 503, 503, 503]);
    expect(probes.map((d) => (d.body as { error?: string }).error)).toEqual(Array(4).fill('kafka_unavailable'));
    expect((await fetch(`${api.url}/ready`)).status).toBe(503);

    const from = ledger.sent;
    const load = retryingLoad(ledger, 'down', 12, 11);
    await waitFor('the retrying clients to get 503s', () => ledger.count(503, from) >= 6, { timeoutMs: 30_000 });
    expect(await topicMessageCount(brokers, topic)).toBe(before);
    expect(ledger.count(202, from)).toBe(0);

    // Recovery.
    await restoreProxy();
    proxyBack();
    await load;
    await untilAccepted(ledger, 'down', '127.0.3.10');
    // Refused connections write nothing: no copy, and no event stored without its 202.
    const verdict = await finish('kafka-down/proxy-disabled', mark, ledger, {});
    expect(verdict.counts.storedUnacked).toBe(0);
  });

  it('timeout toxic (answers swallowed): 503s, possibly written anyway, then every event delivered', async () => {
    const mark = await markTopic(brokers, topic);
    const ledger = new Ledger();
    await untilAccepted(ledger, 'timeout', '127.0.3.20');
    const proxy = await toxiproxy.get(kafkaProxyName);
    // Downstream: produce requests reach the broker, its answers are swallowed (timeout 0: the
    // connection stays open). The API cannot tell "not written" from "written, ack lost".
    const TOXIC_TIMEOUT_MS = 0;
    const toxicGone = ledger.fault('timeout toxic');
    await proxy.addToxic({ name: 'kafka-timeout', type: 'timeout', stream: 'downstream', toxicity: 1, attributes: { timeout: TOXIC_TIMEOUT_MS } });

    const probes = await probe(ledger, 'timeout', 3, '127.0.3.20');
    expect(statuses(probes)).toEqual([503, 503, 503]);

    const from = ledger.sent;
    const load = retryingLoad(ledger, 'timeout', 12, 21);
    await waitFor('the retrying clients to get 503s', () => ledger.count(503, from) >= 6, { timeoutMs: 30_000 });
    expect(ledger.count(202, from)).toBe(0);

    await restoreProxy();
    toxicGone();
    await load;
    await untilAccepted(ledger, 'timeout', '127.0.3.20');
    await finish('kafka-down/timeout-toxic', mark, ledger, toleratedAfter(ledger), { toxic_timeout_ms: TOXIC_TIMEOUT_MS });
  });

  it('latency toxic above, then below PUBLISH_TIMEOUT_MS: 503s, then 202s, then every event delivered', async () => {
    const mark = await markTopic(brokers, topic);
    const ledger = new Ledger();
    await untilAccepted(ledger, 'latency', '127.0.3.30');
    const proxy = await toxiproxy.get(kafkaProxyName);
    const SLOW_MS = 3_000;
    const TOLERABLE_MS = 300;
    const slowEnds = ledger.fault(`latency ${SLOW_MS} ms`);
    const toxic = await proxy.addToxic({ name: 'kafka-latency', type: 'latency', stream: 'downstream', toxicity: 1,
      attributes: { latency: SLOW_MS, jitter: 0 } });

    // Above the publish timeout: 503s, although the writes themselves succeed later.
    const probes = await probe(ledger, 'latency', 3, '127.0.3.30');
    expect(statuses(probes)).toEqual([503, 503, 503]);
    const from = ledger.sent;
    const load = retryingLoad(ledger, 'latency', 6, 31);
    await waitFor('the retrying clients to get 503s', () => ledger.count(503, from) >= 3, { timeoutMs: 30_000 });

    // Below it: slower, but accepted.
    await toxic.update({ ...toxic.toJson(), attributes: { latency: TOLERABLE_MS, jitter: 0 } });
    slowEnds();
    const tolerableEnds = ledger.fault(`latency ${TOLERABLE_MS} ms`);
    await load;
    await untilAccepted(ledger, 'latency', '127.0.3.30');
    const slowButOk = await probe(ledger, 'latency', 3, '127.0.3.30');
    expect(statuses(slowButOk)).toEqual([202, 202, 202]);

    await restoreProxy();
    tolerableEnds();
    await untilAccepted(ledger, 'latency', '127.0.3.30');
    await finish('kafka-down/latency-toxic', mark, ledger, toleratedAfter(ledger), { slow_latency_ms: SLOW_MS, tolerable_latency_ms: TOLERABLE_MS });
  });
});
