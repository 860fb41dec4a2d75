/**
 * Lab 01 benchmark: `npm run bench`.
 *
 * Starts its own Kafka broker, 3 API replicas and nginx on free ports (never the `npm run up`
 * stack), then measures, one phase after another:
 *
 *  1. raw kafkajs producer throughput to the same broker, with the API's producer settings
 *     (shared/kafka.ts createEventProducer, acks=-1): one message per send from 1 producer with
 *     one send at a time and with 50 concurrent sends, from 3 producers (one per replica), then
 *     batches of 100 messages per send;
 *  2. nginx answering `/static-202` by itself (the HTTP ceiling of this machine);
 *  3. `POST /track` through nginx over the 3 replicas, at maximum throughput and at a fixed
 *     target rate (autocannon `overallRate`);
 *  4. `POST /track` directly against one replica;
 *  5. end to end: events at a steady rate (BENCH_E2E_RATE, 200/s) through nginx to 2 workers
 *     (lab 04's), from the client's send to the worker's commit of the profile update.
 *
 * Rate limits are raised by configuration (RATE_LIMIT_MAX on the replicas, rate/burst of
 * nginx's limit_req) and printed. Latencies are computed from every 2xx response's own time
 * (autocannon's `response` event), not from autocannon's integer-millisecond histogram.
 * Each phase also prints the CPU used by Kafka, the replicas, nginx, the load generator (this
 * process) and everything else on the machine (from /proc), and the end checks that every 202
 * is in the topic. Timings are printed, never asserted: there is no test for the bench.
 * Every process it starts is stopped at the end, whatever happens.
 *
 * Settings (environment): BENCH_DURATION_S (10) per phase, BENCH_WARMUP_S (5, unreported
 * warm-ups of the broker and of the replicas), BENCH_CONNECTIONS (50), BENCH_RATE_CONNECTIONS
 * (connections of the fixed-rate phase, default BENCH_CONNECTIONS), BENCH_TARGET_RATE
 * (2000 req/s), BENCH_TARGET_P99_MS (10), BENCH_KEEP=1 keeps the temp folder (broker data, logs).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { Kafka, Message, Producer } from 'kafkajs';
import { startApiReplica, type ApiReplica } from '../../../infra/api.js';
import { startKafka, type KafkaBroker } from '../../../infra/kafka.js';
import { startNginx, type NginxServer } from '../../../infra/nginx.js';
import { waitFor } from '../../../infra/processes.js';
import { startWorker, type WorkerProcess } from '../../../infra/worker.js';
import { loadConfig } from '../../../shared/config.js';
import { waitForStableGroup } from '../../../shared/testing/groups.js';
import { ProfileStore } from '../../02-consumer-groups/src/profile-store.js';
import { createEventProducer, createKafka, ensureTopic } from '../../../shared/kafka.js';

// ---------------------------------------------------------------- settings

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

const DURATION_S = envNumber('BENCH_DURATION_S', 10);
const CONNECTIONS = Math.round(envNumber('BENCH_CONNECTIONS', 50));
const RATE_CONNECTIONS = Math.round(envNumber('BENCH_RATE_CONNECTIONS', CONNECTIONS));
const TARGET_RATE = Math.round(envNumber('BENCH_TARGET_RATE', 2_000));
const TARGET_P99_MS = envNumber('BENCH_TARGET_P99_MS', 10);
const WARMUP_S = envNumber('BENCH_WARMUP_S', Math.min(5, DURATION_S));
const KEEP = process.env.BENCH_KEEP === '1';

/** Limits in force during the bench: high enough that no request is refused, still evaluated on every request. */
const LIMITS = {
  nginxRate: 100_000, // limit_req r/s per client IP
  nginxBurst: 100_000,
  apiMax: 100_000_000, // RATE_LIMIT_MAX per replica per client IP
  apiWindowMs: 60_000,
};

const PARTITIONS = loadConfig(process.env).KAFKA_TOPIC_PARTITIONS; // as the replicas would create it (default 2)
const TRACK_TOPIC = 'crm-events';
const RAW_TOPIC = 'bench-raw-producer';
const USERS = 100; // distinct user_id values in the request bodies / message keys

// ---------------------------------------------------------------- CPU accounting from /proc

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU ticks (user + system) per process group, over every live process. */
function ticksByProcessGroup(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after "(comm)": state ppid pgrp ... utime(14) stime(15), counted from 1 over the whole line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pgrp = Number(fields[2]);
    const ticks = Number(fields[11]) + Number(fields[12]);
    out.set(pgrp, (out.get(pgrp) ?? 0) + ticks);
  }
  return out;
}

/** Busy ticks of the whole machine (all cores), from /proc/stat. */
function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  // cpu user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait.
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return user! + nice! + system! + irq! + softirq! + (steal ?? 0);
}

/** Cores busy on the whole machine (and stolen by the hypervisor) over a short sample. */
async function backgroundLoad(sampleMs = 2_000): Promise<{ busy: number; steal: number }> {
  const read = () => readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const a = read();
  await new Promise((resolve) => setTimeout(resolve, sampleMs));
  const b = read();
  const d = b.map((v, i) => v - (a[i] ?? 0));
  const cores = (ticks: number) => ticks / CLK_TCK / (sampleMs / 1000);
  const busy = d[0]! + d[1]! + d[2]! + d[5]! + d[6]! + (d[7] ?? 0);
  return { busy: cores(busy), steal: cores(d[7] ?? 0) };
}

interface CpuSnapshot {
  at: number;
  groups: Map<number, number>;
  machine: number;
  self: NodeJS.CpuUsage;
}

function cpuSnapshot(): CpuSnapshot {
  return { at: performance.now(), groups: ticksByProcessGroup(), machine: machineBusyTicks(), self: process.cpuUsage() };
}

/** Cores used per component between two snapshots (1.0 = one core fully busy). */
type CpuShare = Record<'kafka' | 'api' | 'nginx' | 'loadgen' | 'other', number>;

let componentGroups: { kafka: number[]; api: number[]; nginx: number[] } = { kafka: [], api: [], nginx: [] };

function cpuShare(before: CpuSnapshot, after: CpuSnapshot): CpuShare {
  const seconds = (after.at - before.at) / 1000;
  const cores = (ticks: number) => ticks / CLK_TCK / seconds;
  const delta = (pgids: number[]) =>
    pgids.reduce((sum, pgid) => sum + Math.max(0, (after.groups.get(pgid) ?? 0) - (before.groups.get(pgid) ?? 0)), 0);
  const kafka = cores(delta(componentGroups.kafka));
  const api = cores(delta(componentGroups.api));
  const nginx = cores(delta(componentGroups.nginx));
  const loadgen = (after.self.user - before.self.user + after.self.system - before.self.system) / 1e6 / seconds;
  const machine = cores(after.machine - before.machine);
  return { kafka, api, nginx, loadgen, other: Math.max(0, machine - kafka - api - nginx - loadgen) };
}

const fmtCpu = (c: CpuShare) =>
  `kafka ${c.kafka.toFixed(2)}, api×3 ${c.api.toFixed(2)}, nginx ${c.nginx.toFixed(2)}, load generator ${c.loadgen.toFixed(2)}, other ${c.other.toFixed(2)}`;

// ---------------------------------------------------------------- statistics

/** Nearest-rank percentile of ascending-sorted values. */
function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

interface Latency {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

function latencyOf(values: number[]): Latency {
  const sorted = Float64Array.from(values).sort();
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const int = (v: number) => Math.round(v).toLocaleString('en-US');

// ---------------------------------------------------------------- phase results

interface PhaseResult {
  name: string;
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
}

const results: PhaseResult[] = [];

function report(r: PhaseResult): void {
  results.push(r);
  console.log(`  ${r.name}`);
  console.log(`    ${int(r.rate)} ${r.unit} over ${r.durationS.toFixed(1)} s (${int(r.ok)} ok), concurrency ${r.concurrency}${r.target !== 'max' ? `, target ${r.target}` : ''}`);
  console.log(`    latency ms: p50 ${ms(r.latency.p50)}  p95 ${ms(r.latency.p95)}  p99 ${ms(r.latency.p99)}  max ${ms(r.latency.max)}`);
  console.log(`    non-2xx: ${r.non2xx}${r.non2xxDetail ? ` (${r.non2xxDetail})` : ''}; errors/timeouts: ${r.errors}`);
  console.log(`    CPU, in cores of ${cpus().length}: ${fmtCpu(r.cpu)}`);
}

// ---------------------------------------------------------------- raw producer phases

/** Messages shaped like the API's enriched events, keyed by user_id like the API does. */
function rawMessages(): Message[] {
  return Array.from({ length: 1_000 }, (_, i) => {
    const user = `bench_user_${i % USERS}`;
    const event = {
      user_id: user,
      event_type: 'page_view',
      properties: { page: '/pricing', i },
      event_id: randomUUID(),
      server_timestamp: new Date().toISOString(),
      client_ip: '127.0.0.1',
      request_id: randomUUID(),
    };
    return { key: user, value: JSON.stringify(event), headers: { event_id: event.event_id } };
  });
}

async function producerPhase(
  brokers: string[],
  opts: { name: string; producers: number; concurrencyPerProducer: number; batchSize: number; durationS: number; quiet?: boolean },
): Promise<PhaseResult> {
  const messages = rawMessages();
  const kafkas: Kafka[] = Array.from({ length: opts.producers }, (_, i) => createKafka(brokers, `crm-bench-producer-${i + 1}`));
  const producers: Producer[] = kafkas.map((k) => createEventProducer(k));
  try {
    await Promise.all(producers.map((p) => p.connect()));
    // The first send of each producer fetches metadata and a producer id: not timed.
    await Promise.all(producers.map((p) => p.send({ topic: RAW_TOPIC, acks: -1, messages: messages.slice(0, 1) })));

    const latencies: number[] = [];
    let acked = 0;
    let errors = 0;
    let cursor = 0;
    const before = cpuSnapshot();
    const deadline = before.at + opts.durationS * 1000;
    const loop = async (producer: Producer) => {
      while (performance.now() < deadline) {
        const batch: Message[] = [];
        for (let i = 0; i < opts.batchSize; i++) batch.push(messages[cursor++ % messages.length]!);
        const started = performance.now();
        try {
          await producer.send({ topic: RAW_TOPIC, acks: -1, messages: batch });
          latencies.push(performance.now() - started);
          acked += batch.length;
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(producers.flatMap((p) => Array.from({ length: opts.concurrencyPerProducer }, () => loop(p))));
    const after = cpuSnapshot();
    const durationS = (after.at - before.at) / 1000;
    const phase: PhaseResult = {
      name: opts.name,
      target: 'max',
      concurrency: `${opts.producers} producer${opts.producers > 1 ? 's' : ''} × ${opts.concurrencyPerProducer} send${opts.concurrencyPerProducer > 1 ? 's' : ''}`,
      rate: acked / durationS,
      unit: 'events/s',
      latency: latencyOf(latencies),
      ok: acked,
      non2xx: 0,
      non2xxDetail: '',
      errors,
      durationS,
      cpu: cpuShare(before, after),
    };
    if (!opts.quiet) report(phase);
    return phase;
  } finally {
    await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
  }
}

// ---------------------------------------------------------------- HTTP phases (autocannon)

/** A few fixed bodies that vary user_id (autocannon cycles through them on each connection). */
const trackRequests: autocannon.Request[] = Array.from({ length: USERS }, (_, i) => ({
  method: 'POST',
  path: '/track',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ user_id: `bench_user_${i}`, event_type: 'page_view', properties: { page: '/pricing', i } }),
}));

let trackAcked = 0;

async function httpPhase(opts: {
  name: string;
  url: string;
  requests: autocannon.Request[];
  durationS: number;
  overallRate?: number;
  connections?: number;
  quiet?: boolean;
}): Promise<PhaseResult> {
  const connections = opts.connections ?? CONNECTIONS;
  const latencies: number[] = [];
  const before = cpuSnapshot();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: opts.url,
        connections,
        duration: opts.durationS,
        requests: opts.requests,
        ...(opts.overallRate ? { overallRate: opts.overallRate, ignoreCoordinatedOmission: true } : {}),
      },
      (error, res) => (error ? reject(error) : resolve(res)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
  const after = cpuSnapshot();
  const non2xxDetail = Object.entries(result.statusCodeStats ?? {})
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, stat]) => `${code}: ${stat.count ?? 0}`)
    .join(', ');
  const responses = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
  const phase: PhaseResult = {
    name: opts.name,
    target: opts.overallRate ? `${int(opts.overallRate)} req/s` : 'max',
    concurrency: `${connections} connections`,
    rate: responses / result.duration,
    unit: 'req/s',
    latency: latencyOf(latencies),
    ok: result['2xx'],
    non2xx: result.non2xx,
    non2xxDetail,
    errors: result.errors + result.timeouts,
    durationS: result.duration,
    cpu: cpuShare(before, after),
  };
  if (opts.requests === trackRequests) trackAcked += result['2xx'];
  if (!opts.quiet) report(phase);
  return phase;
}

// ---------------------------------------------------------------- end to end

/**
 * Client send → profile updated by a worker, per event. Two workers in a new group that starts
 * at the topic's end (earlier phases' events are skipped); each event carries its own event_id,
 * so its send time (client) and its processed_at (profile store) can be matched.
 */
async function endToEndPhase(o: { brokers: string[]; nginxUrl: string; root: string; rate: number; count: number }): Promise<void> {
  const groupId = `bench-e2e-${randomUUID().slice(0, 8)}`;
  const admin = createKafka(o.brokers, 'crm-bench-e2e').admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(TRACK_TOPIC);
  await admin.setOffsets({ groupId, topic: TRACK_TOPIC, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
  const profileDb = join(o.root, 'e2e-profiles.db');
  const workers: WorkerProcess[] = ['worker-1', 'worker-2'].map((id) => startWorker({
    id, kind: 'with-dlq', brokers: o.brokers, profileDb, logDir: join(o.root, 'logs'),
    env: { KAFKA_TOPIC: TRACK_TOPIC, CONSUMER_GROUP: groupId, KAFKA_RETRY_TOPIC: `${groupId}-retry`, KAFKA_DLQ_TOPIC: `${groupId}-dlq`, LOG_LEVEL: 'warn' },
  }));
  const store = new ProfileStore(profileDb);
  try {
    await waitForStableGroup(admin, groupId, TRACK_TOPIC, 2);
    const sentAt = new Map<string, number>();
    const accepted: string[] = [];
    let n = 0;
    await autocannon({
      url: o.nginxUrl,
      connections: 10,
      overallRate: o.rate,
      amount: o.count,
      requests: [{
        method: 'POST',
        path: '/track',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => {
          const event_id = randomUUID();
          sentAt.set(event_id, Date.now());
          return { ...req, body: JSON.stringify({ user_id: `e2e_user_${n++ % USERS}`, event_type: 'page_view', event_id }) };
        },
        onResponse: (status, body) => {
          if (status === 202) accepted.push(JSON.parse(body).event_id);
        },
      }],
    });
    await waitFor('the workers to apply every accepted event', () => store.processedCount() >= accepted.length, { timeoutMs: 120_000, intervalMs: 200 });
    const processedAt = new Map(store.db.prepare('SELECT event_id, processed_at FROM processed_events').all()
      .map((r) => [(r as { event_id: string }).event_id, Date.parse((r as { processed_at: string }).processed_at)]));
    const latency = latencyOf(accepted.map((id) => processedAt.get(id)! - sentAt.get(id)!));
    console.log(`  sent ${int(n)} at ${int(o.rate)}/s, ${int(accepted.length)} accepted, all applied by 2 workers (lab 04's, group ${groupId})`);
    console.log(`    client send → profile updated, ms (clock resolution 1 ms): p50 ${ms(latency.p50)}  p95 ${ms(latency.p95)}  p99 ${ms(latency.p99)}  max ${ms(latency.max)}`);
    e2e = { rate: o.rate, latency };
  } finally {
    store.close();
    await Promise.all(workers.map((w) => w.process.stop().catch(() => undefined)));
    await admin.disconnect();
  }
}

let e2e: { rate: number; latency: Latency } | undefined;

// ---------------------------------------------------------------- main

async function topicCount(brokers: string[], topic: string): Promise<number> {
  const admin = createKafka(brokers, 'crm-bench-admin').admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

function printTable(): void {
  console.log('\n## Results\n');
  console.log('| phase | target | concurrency | throughput | p50 ms | p95 ms | p99 ms | max ms | non-2xx | errors |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.name} | ${r.target} | ${r.concurrency} | ${int(r.rate)} ${r.unit} | ${ms(r.latency.p50)} | ${ms(r.latency.p95)} | ${ms(r.latency.p99)} | ${ms(r.latency.max)} | ${r.non2xx} | ${r.errors} |`);
  }
  if (e2e) {
    console.log(`| end to end: client send → profile updated by a worker | ${int(e2e.rate)} events/s | 10 connections, 2 workers | ${int(e2e.rate)} events/s | ${ms(e2e.latency.p50)} | ${ms(e2e.latency.p95)} | ${ms(e2e.latency.p99)} | ${ms(e2e.latency.max)} | - | - |`);
  }
  console.log('\nCPU during each phase, in cores (this machine has ' + cpus().length + '):\n');
  console.log('| phase | kafka | api ×3 | nginx | load generator | other processes |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.name} | ${r.cpu.kafka.toFixed(2)} | ${r.cpu.api.toFixed(2)} | ${r.cpu.nginx.toFixed(2)} | ${r.cpu.loadgen.toFixed(2)} | ${r.cpu.other.toFixed(2)} |`);
  }
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const root = mkdtempSync(join(tmpdir(), 'crm-bench-'));
  let kafka: KafkaBroker | undefined;
  let replicas: ApiReplica[] = [];
  let nginx: NginxServer | undefined;
  let ok = false;

  console.log(`# crm-event-lab bench (labs/01-ingest/bench/bench.ts)\n`);
  console.log(`date        ${startedAt.toISOString()}`);
  console.log(`machine     ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}`);
  console.log(`load avg    ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1/5/15 min) before starting`);
  console.log(`phases      ${DURATION_S} s each (BENCH_DURATION_S), ${CONNECTIONS} connections (BENCH_CONNECTIONS), ` +
    `${RATE_CONNECTIONS} for the fixed rate (BENCH_RATE_CONNECTIONS), warm-ups ${WARMUP_S} s (BENCH_WARMUP_S)`);
  const idle = await backgroundLoad();
  console.log(`background  ${idle.busy.toFixed(2)} of ${cpus().length} cores busy (steal ${idle.steal.toFixed(2)}) over 2 s before the bench started anything` +
    ' (the machine is shared; see the "other" CPU column)');
  console.log(`temp folder ${root}${KEEP ? ' (kept: BENCH_KEEP=1)' : ' (removed at the end unless the bench fails)'}\n`);

  try {
    console.log('Starting Kafka, 3 API replicas and nginx on free ports...');
    kafka = await startKafka({ dataDir: join(root, 'kafka') });
    const brokers = kafka.brokers;
    const admin = createKafka(brokers, 'crm-bench-setup');
    await ensureTopic(admin, TRACK_TOPIC, PARTITIONS);
    await ensureTopic(admin, RAW_TOPIC, PARTITIONS);

    const logDir = join(root, 'logs');
    mkdirSync(logDir, { recursive: true });
    const apiEnv = {
      KAFKA_TOPIC: TRACK_TOPIC,
      RATE_LIMIT_MAX: String(LIMITS.apiMax),
      RATE_LIMIT_WINDOW_MS: String(LIMITS.apiWindowMs),
      LOG_LEVEL: 'warn',
    };
    // allSettled: if one replica fails to start, the others are still stopped in `finally`.
    const started = await Promise.allSettled(['api-1', 'api-2', 'api-3'].map((id) => startApiReplica({ id, brokers, env: apiEnv, logDir })));
    replicas = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    nginx = await startNginx({
      upstreams: replicas.map((r) => `127.0.0.1:${r.port}`),
      rate: LIMITS.nginxRate,
      burst: LIMITS.nginxBurst,
      prefix: join(root, 'nginx'),
    });
    componentGroups = { kafka: [kafka.process.pid], api: replicas.map((r) => r.process.pid), nginx: [nginx.process.pid] };
    const config = loadConfig({ ...apiEnv, KAFKA_BROKERS: brokers.join(',') });

    console.log(`
Limits in force (raised for the bench; the lab defaults are nginx 20 r/s burst 50, API 100 req/min):
  nginx   limit_req ${nginx.rate} r/s per client IP, burst ${nginx.burst} nodelay; worker_processes auto; upstream keepalive 32
  api ×3  RATE_LIMIT_MAX=${config.RATE_LIMIT_MAX} per RATE_LIMIT_WINDOW_MS=${config.RATE_LIMIT_WINDOW_MS} per client IP, per replica (in memory)
Other settings: LOG_LEVEL=${config.LOG_LEVEL} on the replicas, PUBLISH_TIMEOUT_MS=${config.PUBLISH_TIMEOUT_MS}, topic ${TRACK_TOPIC} with ${PARTITIONS} partitions,
  producer: shared/kafka.ts createEventProducer (the API's own settings) with acks=-1 (all) per send,
    KAFKA_PRODUCER_IDEMPOTENT=${process.env.KAFKA_PRODUCER_IDEMPOTENT ?? '(unset: the default of shared/kafka.ts)'}; one Kafka broker (replication factor 1),
  request bodies cycle through ${USERS} user_id values; all load comes from 127.0.0.1 (one client IP).
`);

    console.log(`1. Raw kafkajs producer, same broker, same producer settings as the API (after a ${WARMUP_S} s warm-up of the broker, not reported)`);
    const brokerWarm = await producerPhase(brokers, { name: 'warm-up', producers: 1, concurrencyPerProducer: CONNECTIONS, batchSize: 1, durationS: WARMUP_S, quiet: true });
    console.log(`  warm-up: ${int(brokerWarm.rate)} events/s`);
    // One send at a time: the bare acks=all round trip. Then 50 concurrent sends, as a replica under load has.
    await producerPhase(brokers, { name: 'kafkajs, 1 msg/send, 1 producer, 1 at a time', producers: 1, concurrencyPerProducer: 1, batchSize: 1, durationS: DURATION_S });
    await producerPhase(brokers, { name: 'kafkajs, 1 msg/send, 1 producer', producers: 1, concurrencyPerProducer: CONNECTIONS, batchSize: 1, durationS: DURATION_S });
    await producerPhase(brokers, { name: 'kafkajs, 1 msg/send, 3 producers', producers: 3, concurrencyPerProducer: Math.ceil(CONNECTIONS / 3), batchSize: 1, durationS: DURATION_S });
    await producerPhase(brokers, { name: 'kafkajs, 100 msgs/send, 1 producer', producers: 1, concurrencyPerProducer: 4, batchSize: 100, durationS: DURATION_S });

    console.log('\n2. nginx alone: GET /static-202 (answered by nginx, no upstream)');
    await httpPhase({ name: 'nginx GET /static-202', url: nginx.url, durationS: DURATION_S,
      requests: [{ method: 'GET', path: '/static-202' }] });

    console.log(`\n3. POST /track through nginx over 3 replicas (after a ${WARMUP_S} s warm-up, not reported)`);
    const warm = await httpPhase({ name: 'warm-up', url: nginx.url, durationS: WARMUP_S, requests: trackRequests, quiet: true });
    console.log(`  warm-up: ${int(warm.rate)} req/s, non-2xx ${warm.non2xx}`);
    await httpPhase({ name: 'POST /track via nginx, max', url: nginx.url, durationS: DURATION_S, requests: trackRequests });
    const fixed = await httpPhase({ name: `POST /track via nginx, ${int(TARGET_RATE)} req/s`, url: nginx.url, durationS: DURATION_S,
      requests: trackRequests, overallRate: TARGET_RATE, connections: RATE_CONNECTIONS });

    console.log('\n4. POST /track directly against one replica (no nginx)');
    await httpPhase({ name: 'POST /track direct to api-1, max', url: replicas[0]!.url, durationS: DURATION_S, requests: trackRequests });

    const e2eRate = envNumber('BENCH_E2E_RATE', 200);
    console.log(`\n5. End to end: POST /track through nginx at ${e2eRate}/s, then 2 workers apply each event to the profile store`);
    await endToEndPhase({ brokers, nginxUrl: nginx.url, root, rate: e2eRate, count: e2eRate * DURATION_S });

    // Every 202 must be in the topic; a few more may be stored (in flight when a phase stopped).
    const stored = await topicCount(brokers, TRACK_TOPIC);
    console.log(`\nCheck: ${int(trackAcked)} requests answered 202, ${int(stored)} events stored in ${TRACK_TOPIC} ` +
      `(${stored >= trackAcked ? 'every 202 is stored' : 'FEWER STORED THAN ACKED'}; the difference is requests still in flight when a phase ended).`);

    printTable();

    const rateReached = fixed.rate >= 0.95 * TARGET_RATE;
    const met = rateReached && fixed.non2xx === 0 && fixed.errors === 0 && fixed.latency.p99 < TARGET_P99_MS;
    console.log(`\nTarget: p99 < ${TARGET_P99_MS} ms at ${int(TARGET_RATE)} req/s through nginx: ${met ? 'MET' : 'NOT MET'} ` +
      `(measured p99 ${ms(fixed.latency.p99)} ms at ${int(fixed.rate)} req/s, ${fixed.non2xx} non-2xx, ${fixed.errors} errors` +
      `${rateReached ? '' : `; the target rate was not reached`}).`);
    console.log(`Note: autocannon's overallRate gives each connection a quota per second (${int(TARGET_RATE / RATE_CONNECTIONS)} req/s here), ` +
      'sent back to back at the start of each second, so the fixed-rate load arrives in bursts, not evenly spaced.');
    console.log(`Load avg after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; total ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s.`);
    ok = true;
  } finally {
    await nginx?.process.stop().catch(() => undefined);
    await Promise.all(replicas.map((r) => r.process.stop().catch(() => undefined)));
    await kafka?.process.stop().catch(() => undefined);
    if (ok && !KEEP) rmSync(root, { recursive: true, force: true });
    else console.log(`Logs and broker data kept in ${root}`);
  }
}

await main();
