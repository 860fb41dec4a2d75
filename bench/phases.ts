/**
 * The bench's phases. Each returns a PhaseResult (throughput, latency, refusals, CPU per
 * component) and records it for the final tables.
 */
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import type { Kafka, Message, Producer } from 'kafkajs';
import { createEventProducer, createKafka } from '../shared/kafka.js';
import { cpuShare, cpuSnapshot, fmtCpu, type ComponentGroups, type CpuShare } from './cpu.js';
import { pacedLoad } from '../shared/paced-load.js';
import { producerBatches } from './producer-batches.js';
import { int, latencyOf, ms, type Latency } from './stats.js';
import { sampleLag } from './lag-sampler.js';
import { measuredAttack } from './vegeta/measured.js';

export interface PhaseResult {
  name: string;
  /** Which system: the stripped ingest path, or the full stack as `npm run up` runs it. */
  stack: string;
  target: string;
  concurrency: string;
  /** Completed operations per second (responses, or acked events). */
  rate: number;
  unit: 'req/s' | 'events/s';
  latency: Latency;
  ok: number;
  non2xx: number;
  non2xxDetail: string;
  errors: number;
  durationS: number;
  cpu: CpuShare;
  /** Highest consumer lag sampled during the phase, where workers consume. */
  maxLag?: number;
  /** Mean events per Kafka produce request the replicas sent during the phase (their own histogram). */
  eventsPerProduce?: number;
}

export const results: PhaseResult[] = [];

/** The API replicas' CPU per completed request (or event, for events/s phases), in ms. */
export const replicaCpuMsPer = (r: PhaseResult): number => (r.rate > 0 ? (r.cpu.api * 1000) / r.rate : 0);

export function report(r: PhaseResult): PhaseResult {
  results.push(r);
  console.log(`  ${r.name} [${r.stack}]`);
  console.log(`    ${int(r.rate)} ${r.unit} over ${r.durationS.toFixed(1)} s (${int(r.ok)} ok), concurrency ${r.concurrency}${r.target !== 'max' ? `, target ${r.target}` : ''}`);
  console.log(`    latency ms: p50 ${ms(r.latency.p50)}  p95 ${ms(r.latency.p95)}  p99 ${ms(r.latency.p99)}  max ${ms(r.latency.max)}`);
  console.log(`    non-2xx: ${r.non2xx}${r.non2xxDetail ? ` (${r.non2xxDetail})` : ''}; errors/timeouts: ${r.errors}${r.maxLag !== undefined ? `; max consumer lag ${int(r.maxLag)}` : ''}`);
  console.log(`    CPU, in cores of ${cpus().length}: ${fmtCpu(r.cpu)}`);
  if (r.eventsPerProduce !== undefined) {
    console.log(`    events per produce request: ${r.eventsPerProduce.toFixed(1)}; replicas' CPU per ${r.unit === 'req/s' ? 'request' : 'event'}: ${replicaCpuMsPer(r).toFixed(2)} ms`);
  }
  return r;
}

const USERS = 1_000;
/** An event body as a client sends it; user_id cycles over USERS values. */
export const clientEvent = (i: number, extra: Record<string, unknown> = {}) =>
  ({ user_id: `bench_user_${i % USERS}`, event_type: 'page_view', properties: { page: '/pricing', i }, ...extra });

// ---------------------------------------------------------------- raw producer

/** Messages shaped like the API's enriched events, keyed by user_id like the API does. */
function rawMessages(): Message[] {
  return Array.from({ length: 1_000 }, (_, i) => {
    const event = { ...clientEvent(i), event_id: randomUUID(), server_timestamp: new Date().toISOString(), client_ip: '127.0.0.1', request_id: randomUUID() };
    return { key: event.user_id, value: JSON.stringify(event), headers: { event_id: event.event_id } };
  });
}

/** kafkajs sends with the API's producer settings (acks=all), `concurrency` sends in flight per producer. */
export async function producerPhase(o: {
  name: string; brokers: string[]; topic: string; producers: number; concurrency: number; batchSize: number;
  durationS: number; groups: ComponentGroups; quiet?: boolean;
}): Promise<PhaseResult> {
  const messages = rawMessages();
  const kafkas: Kafka[] = Array.from({ length: o.producers }, (_, i) => createKafka(o.brokers, `crm-bench-producer-${i + 1}`));
  const producers: Producer[] = kafkas.map((k) => createEventProducer(k));
  try {
    await Promise.all(producers.map((p) => p.connect()));
    // The first send of each producer fetches metadata: not timed.
    await Promise.all(producers.map((p) => p.send({ topic: o.topic, acks: -1, messages: messages.slice(0, 1) })));
    const latencies: number[] = [];
    let acked = 0;
    let errors = 0;
    let cursor = 0;
    const before = cpuSnapshot();
    const deadline = before.at + o.durationS * 1000;
    const loop = async (producer: Producer) => {
      while (performance.now() < deadline) {
        const batch: Message[] = [];
        for (let i = 0; i < o.batchSize; i++) batch.push(messages[cursor++ % messages.length]!);
        const started = performance.now();
        try {
          await producer.send({ topic: o.topic, acks: -1, messages: batch });
          latencies.push(performance.now() - started);
          acked += batch.length;
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(producers.flatMap((p) => Array.from({ length: o.concurrency }, () => loop(p))));
    const after = cpuSnapshot();
    const durationS = (after.at - before.at) / 1000;
    const phase: PhaseResult = {
      name: o.name, stack: 'broker only', target: 'max',
      concurrency: `${o.producers} producer${o.producers > 1 ? 's' : ''} × ${o.concurrency} send${o.concurrency > 1 ? 's' : ''}`,
      rate: acked / durationS, unit: 'events/s', latency: latencyOf(latencies), ok: acked, non2xx: 0, non2xxDetail: '', errors, durationS,
      cpu: cpuShare(before, after, o.groups),
    };
    return o.quiet ? phase : report(phase);
  } finally {
    await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
  }
}

// ---------------------------------------------------------------- HTTP at maximum throughput (autocannon)

/** Accepted event_ids per phase name, for the final "every 202 is stored" check. */
export const acceptedIds = new Set<string>();

export async function maxHttpPhase(o: {
  name: string; stack: string; url: string; path: string; method?: string; bodies: string[]; connections: number;
  durationS: number; groups: ComponentGroups; eventsPerRequest?: number; quiet?: boolean;
  /** The event_ids a 2xx answer acknowledges (collected for the final stored-check). */
  acceptedIn?: (body: string) => string[];
  /** The replicas' own URLs, for events per produce request. */
  replicaUrls?: string[];
}): Promise<PhaseResult> {
  const latencies: number[] = [];
  const batches = await producerBatches(o.replicaUrls);
  const before = cpuSnapshot();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
      url: o.url, connections: o.connections, duration: o.durationS,
      requests: o.bodies.map((body) => ({
        method: (o.method ?? 'POST') as 'POST', path: o.path, headers: { 'content-type': 'application/json' }, body,
        onResponse: (status: number, resBody: string) => {
          if (status === 202 && o.acceptedIn) for (const id of o.acceptedIn(resBody)) acceptedIds.add(id);
        },
      })),
    }, (error, res) => (error ? reject(error) : resolve(res)));
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
  const after = cpuSnapshot();
  const perRequest = o.eventsPerRequest ?? 1;
  const responses = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
  const phase: PhaseResult = {
    name: o.name, stack: o.stack, target: 'max', concurrency: `${o.connections} connections`,
    rate: (perRequest > 1 ? result['2xx'] * perRequest : responses) / result.duration, unit: perRequest > 1 ? 'events/s' : 'req/s',
    latency: latencyOf(latencies), ok: result['2xx'] * perRequest, non2xx: result.non2xx,
    non2xxDetail: Object.entries(result.statusCodeStats ?? {}).filter(([code]) => !code.startsWith('2')).map(([code, s]) => `${code}: ${s.count ?? 0}`).join(', '),
    errors: result.errors + result.timeouts, durationS: result.duration, cpu: cpuShare(before, after, o.groups),
    eventsPerProduce: await batches.stop(),
  };
  return o.quiet ? phase : report(phase);
}

// ---------------------------------------------------------------- HTTP at a fixed, evenly paced rate


export async function pacedTrackPhase(o: {
  name: string; stack: string; url: string; rate: number; durationS: number; connections: number; groups: ComponentGroups;
  lag?: { brokers: string[]; groupId: string; topic: string }; quiet?: boolean; replicaUrls?: string[];
}): Promise<PhaseResult> {
  const lag = o.lag ? sampleLag(o.lag.brokers, o.lag.groupId, o.lag.topic) : undefined;
  const batches = await producerBatches(o.replicaUrls);
  const before = cpuSnapshot();
  const load = await pacedLoad({
    url: o.url, path: '/track', rate: o.rate, durationS: o.durationS, connections: o.connections,
    body: (i) => JSON.stringify(clientEvent(i)),
    onResponse: (_i, status, body) => {
      if (status === 202) acceptedIds.add(JSON.parse(body).event_id);
    },
  });
  const after = cpuSnapshot();
  const maxLag = await lag?.stop();
  const non2xx = Object.entries(load.statuses).filter(([code]) => /^\d+$/.test(code) && !code.startsWith('2'));
  const phase: PhaseResult = {
    name: o.name, stack: o.stack, target: `${int(o.rate)} req/s`, concurrency: `paced, ≤${o.connections} connections`,
    rate: load.achievedRate, unit: 'req/s', latency: latencyOf(load.latencies), ok: load.ok,
    non2xx: non2xx.reduce((sum, [, n]) => sum + n, 0), non2xxDetail: non2xx.map(([code, n]) => `${code}: ${n}`).join(', '),
    errors: load.errors, durationS: load.elapsedS, cpu: cpuShare(before, after, o.groups), maxLag,
    eventsPerProduce: await batches.stop(),
  };
  return o.quiet ? phase : report(phase);
}

/**
 * The same paced phase driven by vegeta (bench/vegeta: a Go process of its own, cheap on CPU), for
 * the full stack: its CPU is added to the load generator's column (and taken out of "other").
 */
export async function vegetaTrackPhase(o: {
  name: string; stack: string; url: string; rate: number; durationS: number; groups: ComponentGroups; bin: string; workDir: string;
  lag?: { brokers: string[]; groupId: string; topic: string }; quiet?: boolean; replicaUrls?: string[];
}): Promise<PhaseResult> {
  const batches = await producerBatches(o.replicaUrls);
  const { load, before, after, maxLag } = await measuredAttack({
    bin: o.bin, url: `${o.url}/track`, rate: o.rate, durationS: o.durationS, workDir: o.workDir, name: o.name, body: (i) => clientEvent(i), lag: o.lag,
  });
  for (const a of load.accepted) acceptedIds.add(a.id);
  const cpu = cpuShare(before, after, o.groups);
  const vegetaCores = load.cpuSeconds / ((after.at - before.at) / 1000);
  cpu.loadgen += vegetaCores;
  cpu.other = Math.max(0, cpu.other - vegetaCores);
  const non2xx = Object.entries(load.statuses).filter(([code]) => !code.startsWith('2'));
  const phase: PhaseResult = {
    name: o.name, stack: o.stack, target: `${int(o.rate)} req/s`, concurrency: 'paced (vegeta, open loop)',
    rate: load.goodput, unit: 'req/s', latency: load.latency, ok: load.accepted.length,
    non2xx: non2xx.reduce((sum, [, n]) => sum + n, 0), non2xxDetail: non2xx.map(([code, n]) => `${code}: ${n}`).join(', '),
    errors: load.errors, durationS: load.wallS, cpu, maxLag, eventsPerProduce: await batches.stop(),
  };
  return o.quiet ? phase : report(phase);
}

// ---------------------------------------------------------------- end to end

/**
 * Client send → profile updated by a worker, per event, at an evenly paced rate. The workers
 * are already consuming (`groupId`); each event carries its own event_id, so its send time
 * (client clock) and its processed_at (the worker's, same machine) can be matched.
 */
export async function endToEndPhase(o: {
  name: string; stack: string; url: string; rate: number; durationS: number; connections: number; groups: ComponentGroups;
  lag: { brokers: string[]; groupId: string; topic: string };
  processedAt: (eventIds: string[]) => Map<string, number>;
  replicaUrls?: string[];
}): Promise<PhaseResult> {
  const sentAt = new Map<string, number>();
  const accepted: string[] = [];
  const lag = sampleLag(o.lag.brokers, o.lag.groupId, o.lag.topic);
  const batches = await producerBatches(o.replicaUrls);
  const before = cpuSnapshot();
  const load = await pacedLoad({
    url: o.url, path: '/track', rate: o.rate, durationS: o.durationS, connections: o.connections,
    body: (i) => {
      const event_id = randomUUID();
      sentAt.set(event_id, Date.now());
      return JSON.stringify(clientEvent(i, { event_id }));
    },
    onResponse: (_i, status, body) => {
      if (status === 202) accepted.push(JSON.parse(body).event_id);
    },
  });
  const deadline = Date.now() + 120_000;
  while ((await lag.current()) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  const after = cpuSnapshot();
  const maxLag = await lag.stop();
  for (const id of accepted) acceptedIds.add(id);
  const processed = o.processedAt(accepted);
  const missing = accepted.filter((id) => !processed.has(id)).length;
  if (missing > 0) console.log(`    ${missing} accepted events were not applied within 120 s`);
  const non2xx = Object.entries(load.statuses).filter(([code]) => !code.startsWith('2'));
  return report({
    name: o.name, stack: o.stack, target: `${int(o.rate)} events/s`, concurrency: `paced, ≤${o.connections} connections, 2 workers`,
    rate: load.achievedRate, unit: 'events/s',
    latency: latencyOf(accepted.filter((id) => processed.has(id)).map((id) => processed.get(id)! - sentAt.get(id)!)),
    ok: accepted.length - missing, non2xx: non2xx.reduce((sum, [, n]) => sum + n, 0) + missing,
    non2xxDetail: [...non2xx.map(([code, n]) => `${code}: ${n}`), ...(missing ? [`not applied: ${missing}`] : [])].join(', '),
    errors: load.errors, durationS: load.elapsedS, cpu: cpuShare(before, after, o.groups), maxLag,
    eventsPerProduce: await batches.stop(),
  });
}
