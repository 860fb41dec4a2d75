/**
 * Scenario 6: offered load past capacity. The test first measures what this stack carries on this
 * machine (measureCapacity below), then offers twice that for 20 s, open-loop and evenly paced
 * (src/open-loop.ts), from 20 client IPs with up to 250 connections each: like vegeta, the client
 * does not wait for answers before sending more, so the requests pile up at the edge (with 50
 * connections per IP they waited client-side instead, and even the old settings passed). Then a few
 * requests at a low rate.
 *
 * Overload must degrade gracefully: the replicas shed what they cannot carry (503 `overloaded`,
 * labs/01-ingest/src/load-shed.ts) while they keep accepting about their capacity; nginx never marks
 * a replica dead because it was slow (max_fails=0), so no "no live upstreams" 502 storm. Limits are
 * raised as the bench raises them (bench/stacks.ts BENCH_LIMITS), so nginx's per-IP 429 does not
 * hide what happens at capacity. No workers: the scenario is the ingest path; the checker judges the
 * topic. Rates are printed; the assertions are outcomes, never timings.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApiReplica, type ApiReplica } from '../../../infra/api.js';
import { startNginx, type NginxServer } from '../../../infra/nginx.js';
import { httpRequest } from '../../../shared/testing/http.js';
import { createTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { checkScenario, Ledger, markTopic, reportTimeline, summaryLine } from '../src/chaos.js';
import { violations } from '../src/checker.js';
import { runOpenLoop } from '../src/open-loop.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('lab03-overload');
/**
 * The capacity probe: PROBE_REQUESTS sent open-loop at PROBE_RATE, far above what the
 * stack carries, over PROBE_CONNECTIONS connections in all (fewer than the replicas shed at): the
 * excess waits client-side, so the stack always has that many requests to work on and answers as
 * fast as it can. Its capacity: the 202s per second from the PROBE_FROM-th to the PROBE_TO-th
 * answer (the first ones warm it up).
 */
const PROBE_RATE = 5_000;
const PROBE_REQUESTS = 10_000;
const PROBE_CONNECTIONS = 8 * 16;
const PROBE_FROM = 0.25;
const PROBE_TO = 0.95;
const OVERLOAD_FACTOR = 2;
const OVERLOAD_S = 20;
const OVERLOAD_IPS = 20;
const CONNECTIONS_PER_IP = 250;
/** Afterwards: a few requests at a low rate. */
const AFTER_RATE = 10;
const AFTER_S = 2;
/** What an overloaded stack may answer besides 202: each is JSON, retryable, with Retry-After. */
const SHED = { 503: ['overloaded', 'service_unavailable'], 429: ['rate_limited'] } as Record<string, string[]>;

/** "p50/p99" of the attempts' elapsed ms (printed, never asserted). */
function percentiles(attempts: { elapsedMs: number }[]): string {
  const ms = attempts.map((a) => a.elapsedMs).sort((a, b) => a - b);
  const at = (q: number) => (ms.length ? ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!.toFixed(0) : '-');
  return `${at(0.5)}/${at(0.99)}`;
}
const ips = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}.${i + 1}`);
let replicas: ApiReplica[] = [];
let nginx: NginxServer;

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  replicas = await Promise.all(['api-1', 'api-2', 'api-3'].map((id) =>
    startApiReplica({ id, brokers, env: { KAFKA_TOPIC: topic, RATE_LIMIT_MAX: '100000000' } })));
  nginx = await startNginx({ upstreams: replicas.map((r) => `127.0.0.1:${r.port}`), rate: 100_000, burst: 100_000 });
});
afterAll(async () => {
  await nginx?.process.stop();
  await Promise.all(replicas.map((r) => r.process.stop()));
});

/** 202s per second the stack carries, answering requests that wait for it client-side. */
async function measureCapacity(): Promise<number> {
  const probe = new Ledger();
  await runOpenLoop({ baseUrl: nginx.url, ledger: probe, rate: PROBE_RATE, durationS: PROBE_REQUESTS / PROBE_RATE,
    addresses: ips('127.0.7', PROBE_CONNECTIONS / 16), connectionsPerAddress: 16,
    event: (n, c) => ({ user_id: `probe_${c}`, event_type: 'page_view', properties: { n } }) });
  const answered = probe.attempts.filter((a) => a.status === 202).map((a) => a.at + a.elapsedMs).sort((a, b) => a - b);
  const from = Math.floor(answered.length * PROBE_FROM);
  const to = Math.floor(answered.length * PROBE_TO) - 1;
  return to > from ? (to - from) / ((answered[to]! - answered[from]!) / 1000) : 0;
}

describe('scenario 6: offered load at twice the capacity', () => {
  it('sheds the excess with retryable JSON 503/429 and Retry-After, never a 502 or 504, keeps accepting ≥ 80 % of capacity, stores every 202, and serves normally right after', async () => {
    const capacity = await measureCapacity();
    expect(capacity).toBeGreaterThan(0);
    const mark = await markTopic(brokers, topic);
    const ledger = new Ledger();
    const event = (n: number, c: number) => ({ user_id: `overload_${c}`, event_type: n % 4 === 0 ? 'login' : 'page_view', properties: { n } });

    // The load generator shares the cores: how late its own event loop ran (printed: it explains the client-side latencies).
    const generatorLag = monitorEventLoopDelay({ resolution: 10 });
    generatorLag.enable();
    const overloadEnds = ledger.fault(`${OVERLOAD_FACTOR}x capacity`);
    const overload = await runOpenLoop({ baseUrl: nginx.url, ledger, rate: Math.round(capacity * OVERLOAD_FACTOR), durationS: OVERLOAD_S,
      addresses: ips('127.0.8', OVERLOAD_IPS), connectionsPerAddress: CONNECTIONS_PER_IP, event });
    overloadEnds();
    generatorLag.disable();
    const afterFrom = ledger.sent;
    const after = await runOpenLoop({ baseUrl: nginx.url, ledger, rate: AFTER_RATE, durationS: AFTER_S, addresses: ['127.0.9.1'], event });
    const verdict = await checkScenario(brokers, mark, ledger);

    const during = ledger.attempts.slice(0, afterFrom);
    const accepted = during.filter((a) => a.status === 202).length;
    // Per second of the phase: until the last answer came, if that was after the sending stopped.
    const phaseS = Math.max(OVERLOAD_S, (overload.answeredUntil - overload.from) / 1000);
    const goodput = accepted / phaseS;
    const refusals = ledger.deliveries.filter((d) => d.status !== 202).map((d) => d.attempts[0]!);
    const codes: Record<string, number> = {};
    for (const a of refusals) {
      const code = `${a.status ?? a.error}:${(a.body as { error?: string } | undefined)?.error ?? '-'}`;
      codes[code] = (codes[code] ?? 0) + 1;
    }
    console.log(summaryLine('overload', ledger, verdict, {}, {
      capacity_rps: capacity.toFixed(0),
      offered_rps: (overload.sent / OVERLOAD_S).toFixed(0),
      goodput_rps: goodput.toFixed(0),
      goodput_of_capacity: `${((goodput / capacity) * 100).toFixed(0)}%`,
      answered_until_s: ((overload.answeredUntil - overload.from) / 1000).toFixed(1),
      ms_202_p50_p99: percentiles(during.filter((a) => a.status === 202)),
      ms_refused_p50_p99: percentiles(during.filter((a) => a.status !== 202)),
      refusals: Object.entries(codes).map(([k, v]) => `${k}=${v}`).join(',') || 'none',
      generator_lag_ms_mean_max: `${(generatorLag.mean / 1e6).toFixed(0)}/${(generatorLag.max / 1e6).toFixed(0)}`,
      after: JSON.stringify(ledger.tally(afterFrom)),
    }));
    reportTimeline('overload', ledger);

    // Past capacity: only 202s and retryable refusals; no 502/504, no network error.
    expect(Object.keys(ledger.tally()).filter((k) => !['202', '429', '503'].includes(k))).toEqual([]);
    // Each refusal is JSON {error, message} with a code that means "come back later", and Retry-After.
    for (const a of refusals) {
      const body = a.body as { error?: unknown; message?: unknown };
      expect({ status: a.status, error: body?.error, message: typeof body?.message }).toEqual({ status: a.status, error: expect.toBeOneOf(SHED[String(a.status)] ?? []), message: 'string' });
      expect(a.headers?.['retry-after']).toMatch(/^\d+$/);
    }
    // The stack kept accepting about its capacity while it shed the rest.
    expect(goodput).toBeGreaterThanOrEqual(0.8 * capacity);
    // Every 202 is in Kafka; nothing stray, nothing reordered, no duplicate (nothing failed over).
    expect(violations(verdict)).toEqual([]);
    expect(verdict.counts.acked).toBe(ledger.count(202));
    // Right after, normal service: every request of the low-rate phase accepted.
    expect(ledger.tally(afterFrom)).toEqual({ 202: after.sent });
    expect((await httpRequest({ url: `${nginx.url}/health` })).status).toBe(200);
  }, 120_000);
});
