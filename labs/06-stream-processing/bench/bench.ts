/**
 * `npm run bench:streams`: what a transaction costs the TypeScript processor and Kafka Streams. On
 * its own broker (free ports), for each configuration:
 *   - throughput: a backlog of generated events, from start to the group committing its end;
 *   - latency (TypeScript only): events appended at a steady rate, from the producer's send to the
 *     login record becoming visible to a read_committed reader (one login output per login event);
 *   - window-close latency (both): each tick's events are an hour later in event time, so they
 *     close the previous tick's hourly windows (grace 0): from the send of the closing tick to the
 *     hourly record becoming visible to a read_committed reader. Kafka Streams' topology writes only
 *     final windows, so this is the latency the two can be compared on.
 * Configurations: transactions off (at-least-once) and on, with commit intervals of 100 ms and 1 s;
 * Kafka Streams with its record cache off and at its default (10 MB), at both intervals.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafka } from '../../../infra/kafka.js';
import { compileStreamsApp, ensureKafkaStreamsJars, startStreamsApp } from '../../../infra/kafka-streams.js';
import { repoRoot } from '../../../infra/paths.js';
import { sleep } from '../../../infra/processes.js';
import { createEventProducer, createKafka } from '../../../shared/kafka.js';
import { backgroundLoad } from '../../../bench/cpu.js';
import type { EnrichedEvent } from '../../../shared/schema.js';
import { StreamProcessor } from '../src/processor.js';
import { StreamsEnv, type StreamsSettings } from '../src/settings.js';
import { ensureStreamsTopics } from '../src/topics.js';
import { committedTotal, uniqueSettings, produceAll } from '../test/harness.js';
import { generateWorkload } from '../test/workload.js';

const PARTITIONS = 4;
const BACKLOG_USERS = Number(process.env.BENCH_USERS ?? 200);
const LATENCY_RATE = Number(process.env.BENCH_RATE ?? 200);
const LATENCY_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const HOUR_MS = 3_600_000;
const TICK_MS = 100;
const configs = [
  { name: 'at-least-once, commit 100 ms', EXACTLY_ONCE: 'false', COMMIT_INTERVAL_MS: '100' },
  { name: 'exactly-once, commit 100 ms', EXACTLY_ONCE: 'true', COMMIT_INTERVAL_MS: '100' },
  { name: 'exactly-once, commit 1000 ms', EXACTLY_ONCE: 'true', COMMIT_INTERVAL_MS: '1000' },
];

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
/**
 * Waits up to 30 s for `expected` latencies, then closes the clients and the engine (in that order)
 * and answers p50/p99 of what was seen.
 */
async function settleLatencies(latencies: number[], expected: number, closing: ({ disconnect(): Promise<unknown> } | { stop(): Promise<unknown> })[]) {
  const waitUntil = performance.now() + 30_000;
  while (latencies.length < expected && performance.now() < waitUntil) await sleep(50);
  for (const c of closing) await ('disconnect' in c ? c.disconnect() : c.stop());
  const sorted = [...latencies].sort((a, b) => a - b);
  return { seen: latencies.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
}
const log = pino({ level: 'warn' });
// kafkajs' own error lines (a partition leader moving while topics are created) would bury the figures.
process.env.KAFKAJS_LOG_LEVEL ??= 'nothing';
/** The machine-readable last line: one key per figure, e.g. ts_exactly_once_100ms_events_per_s. */
const summary: Record<string, number> = {};
const record = (prefix: string, figures: Record<string, number>) => {
  for (const [key, value] of Object.entries(figures)) summary[`${prefix}_${key}`] = Number.isFinite(value) ? Math.round(value) : -1;
};

const broker = await startKafka({ defaultPartitions: PARTITIONS });
const { brokers } = broker;
const kafka = createKafka(brokers, 'lab06-bench');
const admin = kafka.admin();
await admin.connect();

/**
 * Events/s while draining a backlog, timed from the group's first commit to its last (so a JVM's
 * or tsx's start-up is not counted): (events after the first commit) / (time between them).
 */
async function drainRate(groupId: string, topic: string, total: number) {
  let first: { at: number; committed: number } | undefined;
  for (;;) {
    const committed = await committedTotal(admin, groupId, topic);
    const at = performance.now();
    if (!first && committed > 0) first = { at, committed };
    if (committed >= total) {
      const seconds = (at - first!.at) / 1000;
      return { events: total, seconds, perSecond: (total - first!.committed) / seconds };
    }
    await sleep(100);
  }
}

async function backlog(env: Record<string, string>) {
  const s = uniqueSettings('bench-tp', env);
  await ensureStreamsTopics(kafka, s, PARTITIONS);
  const { events } = generateWorkload({ users: BACKLOG_USERS, hours: 4, eventsPerUserHour: 25, partitions: PARTITIONS, graceMs: s.GRACE_MS });
  await produceAll(kafka, s.STREAMS_INPUT_TOPIC, events);
  return { s, total: events.length };
}

async function throughput(env: Record<string, string>) {
  const { s, total } = await backlog(env);
  const processor = new StreamProcessor(createKafka(brokers, 'bench-processor'), StreamsEnv.parse(s.env), log);
  await processor.start();
  const result = await drainRate(s.STREAMS_APP_ID, s.STREAMS_INPUT_TOPIC, total);
  await processor.stop();
  return result;
}

interface KafkaStreamsConfig { guarantee: string; cacheBytes: string; commitMs: string }

/** The Kafka Streams hourly topology (HourlyCounts.java) on the settings `s`, as its own JVM. */
async function startKafkaStreams(s: StreamsSettings, c: KafkaStreamsConfig) {
  const javaDir = join(repoRoot, 'labs', '06-stream-processing', 'streams-java');
  await ensureKafkaStreamsJars();
  const classes = await compileStreamsApp(join(javaDir, 'src', 'HourlyCounts.java'));
  const dir = mkdtempSync(join(tmpdir(), 'bench-kafka-streams-'));
  const app = startStreamsApp({ name: 'kafka-streams', classes, mainClass: 'HourlyCounts', logFile: join(dir, 'kafka-streams.log'), env: {
    KAFKA_BROKERS: brokers.join(','), STREAMS_APP_ID: s.STREAMS_APP_ID, STREAMS_INPUT_TOPIC: s.STREAMS_INPUT_TOPIC, HOURLY_TOPIC: s.HOURLY_TOPIC,
    PROCESSING_GUARANTEE: c.guarantee, COMMIT_INTERVAL_MS: c.commitMs, STATESTORE_CACHE_MAX_BYTES: c.cacheBytes, GRACE_MS: String(s.GRACE_MS),
    STATE_DIR: join(dir, 'state'),
  } });
  return {
    /** Stops the JVM and removes its state and log folder (one per run: ten of them otherwise stay in /tmp). */
    async stop() {
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The same backlog through the Kafka Streams hourly topology (hourly counts only: less work than the TypeScript processor's three outputs). */
async function kafkaStreamsThroughput(c: KafkaStreamsConfig) {
  const { s, total } = await backlog({});
  const app = await startKafkaStreams(s, c);
  try {
    return await drainRate(s.STREAMS_APP_ID, s.STREAMS_INPUT_TOPIC, total);
  } finally {
    await app.stop();
  }
}

/**
 * Window-close latency: every TICK_MS, one event per user an hour later in event time than the
 * last tick (grace 0), so each tick closes the previous tick's hourly windows on every partition.
 * Timed from the send of the closing tick to the hourly record read with read_committed. Two ticks
 * first, then a wait for the first window (start-up, the JVM's included, is not timed), then ticks
 * for LATENCY_SECONDS.
 */
async function windowCloseLatency(env: Record<string, string>, start: (s: StreamsSettings) => Promise<{ stop(): Promise<unknown> }>) {
  const s = uniqueSettings('bench-wlat', { ...env, GRACE_MS: '0' });
  await ensureStreamsTopics(kafka, s, PARTITIONS);
  const users = Math.max(PARTITIONS, Math.round((LATENCY_RATE * TICK_MS) / 1000));
  const base = Date.UTC(2026, 0, 1);
  /** When tick k was sent; the windows of tick k - 1 close with it. */
  const sentAt: number[] = [];
  let firstTimed = Infinity;
  const latencies: number[] = [];
  let seen = 0;
  const reader = kafka.consumer({ groupId: `${s.STREAMS_APP_ID}-reader`, readUncommitted: false, maxWaitTimeInMs: 20 });
  await reader.connect();
  await reader.subscribe({ topic: s.HOURLY_TOPIC, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => {
      const visible = performance.now();
      seen += 1;
      const { window_start } = JSON.parse(message.value!.toString()) as { window_start: string };
      const closingTick = (Date.parse(window_start) - base) / HOUR_MS + 1;
      if (closingTick >= firstTimed && sentAt[closingTick] !== undefined) latencies.push(visible - sentAt[closingTick]!);
    },
  });
  const app = await start(s);
  const producer = createEventProducer(kafka);
  await producer.connect();
  const sendTick = async (k: number) => {
    const at = new Date(base + k * HOUR_MS + 60_000).toISOString();
    sentAt[k] = performance.now();
    await producer.send({ topic: s.STREAMS_INPUT_TOPIC, acks: -1, messages: Array.from({ length: users }, (_, u) => {
      const e: EnrichedEvent = { user_id: `user-${u}`, event_type: 'page_view', properties: {}, event_id: randomUUID(), timestamp: at, server_timestamp: at, client_ip: '127.0.0.1' };
      return { key: e.user_id, value: JSON.stringify(e) };
    }) });
  };
  // Warm-up: two ticks, then nothing until the first window is readable. Ticks sent every 100 ms
  // while a JVM starts would pile up into a backlog that the timed ticks then wait behind.
  await sendTick(0);
  await sendTick(1);
  let tick = 2;
  const warmUntil = performance.now() + 180_000;
  while (seen === 0 && performance.now() < warmUntil) await sleep(50);
  firstTimed = tick + 1; // the windows of ticks sent from now on, closed by ticks sent after them
  const deadline = performance.now() + LATENCY_SECONDS * 1000;
  while (performance.now() < deadline) {
    const tickStart = performance.now();
    await sendTick(tick++);
    await sleep(Math.max(0, TICK_MS - (performance.now() - tickStart)));
  }
  const expected = (tick - firstTimed) * users;
  return { expected, ...(await settleLatencies(latencies, expected, [producer, reader, app])) };
}

/** The TypeScript processor in this process, as `windowCloseLatency` starts it. */
async function startTsProcessor(s: StreamsSettings) {
  const processor = new StreamProcessor(createKafka(brokers, 'bench-processor'), s, log);
  await processor.start();
  return processor;
}

async function latency(env: Record<string, string>) {
  const s = uniqueSettings('bench-lat', env);
  await ensureStreamsTopics(kafka, s, PARTITIONS);
  const processor = new StreamProcessor(createKafka(brokers, 'bench-processor'), StreamsEnv.parse(s.env), log);
  await processor.start();
  const appendedAt = new Map<string, number>();
  const latencies: number[] = [];
  const reader = kafka.consumer({ groupId: `${s.STREAMS_APP_ID}-reader`, readUncommitted: false, maxWaitTimeInMs: 20 });
  await reader.connect();
  await reader.subscribe({ topic: s.LOGINS_TOPIC, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => {
      const { event_id } = JSON.parse(message.value!.toString()) as { event_id: string };
      const at = appendedAt.get(event_id);
      if (at !== undefined) latencies.push(performance.now() - at);
    },
  });
  const producer = createEventProducer(kafka);
  await producer.connect();
  const tickMs = 50;
  const perTick = Math.max(1, Math.round((LATENCY_RATE * tickMs) / 1000));
  let sent = 0;
  const deadline = performance.now() + LATENCY_SECONDS * 1000;
  while (performance.now() < deadline) {
    const tickStart = performance.now();
    const events: EnrichedEvent[] = Array.from({ length: perTick }, (_, i) => ({
      user_id: `user-${(sent + i) % 100}`, event_type: 'login', properties: {}, event_id: randomUUID(),
      server_timestamp: new Date().toISOString(), client_ip: '127.0.0.1',
    }));
    // Timed from the send: without transactions an output can be read before the producer's ack returns.
    const sending = performance.now();
    for (const e of events) appendedAt.set(e.event_id, sending);
    await producer.send({ topic: s.STREAMS_INPUT_TOPIC, acks: -1, messages: events.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })) });
    sent += events.length;
    await sleep(Math.max(0, tickMs - (performance.now() - tickStart)));
  }
  return { sent, ...(await settleLatencies(latencies, sent, [producer, reader, processor])) };
}

const startedAt = Date.now();
const before = await backgroundLoad();
summary.other_load_cores_before = Number(before.busy.toFixed(2));
console.log(`lab 06 stream processor, ${PARTITIONS} partitions, one broker on this machine`);
console.log(`machine: ${cpus().length} cores; other load before starting: ${before.busy.toFixed(2)} cores busy, load avg ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
try {
  const closeLatency = (l: Awaited<ReturnType<typeof windowCloseLatency>>) =>
    `window close→read_committed p50 ${l.p50.toFixed(0)} ms, p99 ${l.p99.toFixed(0)} ms (${l.seen}/${l.expected})`;
  for (const c of configs) {
    const { name, ...env } = c;
    const tp = await throughput(env);
    const lat = await latency(env);
    const close = await windowCloseLatency(env, startTsProcessor);
    console.log(`  ${name.padEnd(30)} throughput ${Math.round(tp.perSecond)} events/s (${tp.events} events);`
      + ` latency append→read_committed p50 ${lat.p50.toFixed(0)} ms, p99 ${lat.p99.toFixed(0)} ms (${lat.seen}/${lat.sent} at ${LATENCY_RATE}/s);`
      + ` ${closeLatency(close)}`);
    record(`ts_${env.EXACTLY_ONCE === 'true' ? 'exactly_once' : 'at_least_once'}_${env.COMMIT_INTERVAL_MS}ms`, {
      events_per_s: tp.perSecond, append_p50_ms: lat.p50, append_p99_ms: lat.p99, close_p50_ms: close.p50, close_p99_ms: close.p99,
    });
  }
  const kafkaStreamsConfigs: KafkaStreamsConfig[] = [
    { guarantee: 'at_least_once', cacheBytes: '0', commitMs: '100' },
    { guarantee: 'exactly_once_v2', cacheBytes: '0', commitMs: '100' },
    { guarantee: 'exactly_once_v2', cacheBytes: '0', commitMs: '1000' },
    { guarantee: 'exactly_once_v2', cacheBytes: '10485760', commitMs: '100' },
    { guarantee: 'exactly_once_v2', cacheBytes: '10485760', commitMs: '1000' },
  ];
  for (const c of kafkaStreamsConfigs) {
    const tp = await kafkaStreamsThroughput(c);
    const close = await windowCloseLatency({}, (s) => startKafkaStreams(s, c));
    console.log(`  Kafka Streams ${c.guarantee}, commit ${c.commitMs} ms, cache ${c.cacheBytes} B: throughput ${Math.round(tp.perSecond)} events/s`
      + ` (${tp.events} events, hourly topology only); ${closeLatency(close)}`);
    record(`ks_${c.guarantee}_${c.commitMs}ms_cache${c.cacheBytes === '0' ? 'off' : 'on'}`, {
      events_per_s: tp.perSecond, close_p50_ms: close.p50, close_p99_ms: close.p99,
    });
  }
  const after = await backgroundLoad();
  summary.other_load_cores_after = Number(after.busy.toFixed(2));
  console.log(`other load after: ${after.busy.toFixed(2)} cores busy; load avg ${loadavg().map((l) => l.toFixed(2)).join(' ')}; total ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  console.log(`SUMMARY ${JSON.stringify(summary)}`);
} finally {
  await admin.disconnect();
  await broker.process.stop();
}
