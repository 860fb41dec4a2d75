/**
 * What SASL_SSL (TLS + SCRAM-SHA-512, with the authorizer checking each request) costs a producer,
 * against PLAINTEXT, on two brokers this script starts on free ports in the same run
 * (`npx tsx labs/07-security/bench/kafka-cost.ts`; EVENTS=20000 SINGLE_EVENTS=2000 to change sizes).
 *
 *   connect   a new producer's connect: TCP (+ TLS handshake + SCRAM exchange), median of 5
 *   batched   EVENTS events in produce requests of 500 (lab 01's publisher: PRODUCER_BATCH_MAX_EVENTS),
 *             one request in flight, idempotent, acks=all: events/s and the request's p50/p99
 *   single    SINGLE_EVENTS events one per request: the per-request cost, which batching hides
 *
 * Each workload runs plain, secure, plain, secure (after a warm-up of each): the figures are the
 * better round of each mode. Prints a table and the figures `measureKafkaCost` returns.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { logLevel, type Kafka } from 'kafkajs';
import { startKafka } from '../../../infra/kafka.js';
import { loadConfig } from '../../../shared/config.js';
import { createEventProducer, createKafka, ensureTopic } from '../../../shared/kafka.js';
import { startLabSecureKafka } from '../src/secure-kafka.js';

const EVENTS = Number(process.env.EVENTS ?? 20_000);
const SINGLE_EVENTS = Number(process.env.SINGLE_EVENTS ?? 2_000);
const BATCH = 500;

const value = (i: number) => JSON.stringify({
  event_id: `0f8fad5b-d9cb-469f-a165-${String(i).padStart(12, '0')}`, user_id: `user_${i % 500}`, event_type: i % 3 ? 'page_view' : 'login',
  properties: { page: `/pricing/${i % 7}`, plan: 'pro', seats: i % 50 }, timestamp: '2026-11-25T10:00:00.000Z',
  server_timestamp: '2026-11-25T10:00:00.123Z', client_ip: '127.0.0.1',
});

const quantile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
};

interface Round { events_per_s: number; p50_ms: number; p99_ms: number; cpu_us_per_event: number }

/** `events` events in requests of `batch`, one in flight, as the API's publisher sends them. */
async function produceRound(kafka: Kafka, topic: string, events: number, batch: number): Promise<Round> {
  const producer = createEventProducer(kafka, { idempotent: true });
  await producer.connect();
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  for (let from = 0; from < events; from += batch) {
    const messages = Array.from({ length: Math.min(batch, events - from) }, (_, i) => ({ key: `user_${(from + i) % 500}`, value: value(from + i) }));
    const sent = performance.now();
    await producer.send({ topic, acks: -1, messages });
    latencies.push(performance.now() - sent);
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await producer.disconnect();
  return { events_per_s: events / seconds, p50_ms: quantile(latencies, 0.5), p99_ms: quantile(latencies, 0.99), cpu_us_per_event: (cpu.user + cpu.system) / events };
}

async function connectMs(kafka: Kafka): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const producer = kafka.producer();
    const start = performance.now();
    await producer.connect();
    times.push(performance.now() - start);
    await producer.disconnect();
  }
  return quantile(times, 0.5);
}

const better = (a: Round, b: Round) => (a.events_per_s >= b.events_per_s ? a : b);

export async function measureKafkaCost(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'lab07-kafka-cost-'));
  const config = loadConfig({});
  const plainBroker = await startKafka({ heapMb: 384, dataDir: join(dir, 'plain') });
  try {
    const lab = await startLabSecureKafka({ heapMb: 384, dataDir: join(dir, 'secure'), secretsDir: join(dir, 'secrets'), config });
    try {
      const modes = {
        // Quiet: the first InitProducerId meets a loading transaction coordinator and is retried (logged as an error).
        plain: createKafka(plainBroker.brokers, 'bench-plain', { logLevel: logLevel.NOTHING }),
        secure: createKafka(lab.broker.brokers, 'bench-secure', { ...lab.broker.clientConfig('api'), logLevel: logLevel.NOTHING }),
      };
      // The plain broker's topic as the secure one's setup made it; api may write crm-events only.
      await ensureTopic(modes.plain, config.KAFKA_TOPIC, config.KAFKA_TOPIC_PARTITIONS);
      const connect = { plain: await connectMs(modes.plain), secure: await connectMs(modes.secure) };

      const workload = async (events: number, batch: number) => {
        await produceRound(modes.plain, config.KAFKA_TOPIC, Math.min(events, 2_000), batch); // warm-up: JIT, connections, segments
        await produceRound(modes.secure, config.KAFKA_TOPIC, Math.min(events, 2_000), batch);
        const rounds = { plain: [] as Round[], secure: [] as Round[] };
        for (let r = 0; r < 2; r++) {
          rounds.plain.push(await produceRound(modes.plain, config.KAFKA_TOPIC, events, batch));
          rounds.secure.push(await produceRound(modes.secure, config.KAFKA_TOPIC, events, batch));
        }
        return { plain: rounds.plain.reduce(better), secure: rounds.secure.reduce(better) };
      };
      const batched = await workload(EVENTS, BATCH);
      const single = await workload(SINGLE_EVENTS, 1);

      const row = (w: { plain: Round; secure: Round }, mode: 'plain' | 'secure') => ({
        'events/s': w[mode].events_per_s.toFixed(0), 'request p50 ms': w[mode].p50_ms.toFixed(2),
        'request p99 ms': w[mode].p99_ms.toFixed(2), 'client CPU µs/event': w[mode].cpu_us_per_event.toFixed(1),
      });
      console.log(`connect (TCP, + TLS and SCRAM-SHA-512 when secure), median of 5: plain ${connect.plain.toFixed(1)} ms, secure ${connect.secure.toFixed(1)} ms`);
      console.log(`\nbatched: ${EVENTS} events, ${BATCH} per request, idempotent, acks=all, one request in flight (better of 2 rounds)`);
      console.table({ PLAINTEXT: row(batched, 'plain'), SASL_SSL: row(batched, 'secure') });
      console.log(`single: ${SINGLE_EVENTS} events, one per request (better of 2 rounds)`);
      console.table({ PLAINTEXT: row(single, 'plain'), SASL_SSL: row(single, 'secure') });
      const pct = (secure: number, plain: number) => Math.round(((secure - plain) / plain) * 1000) / 10;
      return {
        events: EVENTS, single_events: SINGLE_EVENTS, batch: BATCH,
        connect_plain_ms: connect.plain, connect_secure_ms: connect.secure,
        batched_plain_events_per_s: batched.plain.events_per_s, batched_secure_events_per_s: batched.secure.events_per_s,
        batched_plain_p99_ms: batched.plain.p99_ms, batched_secure_p99_ms: batched.secure.p99_ms,
        batched_throughput_change_pct: pct(batched.secure.events_per_s, batched.plain.events_per_s),
        batched_plain_cpu_us_per_event: batched.plain.cpu_us_per_event, batched_secure_cpu_us_per_event: batched.secure.cpu_us_per_event,
        single_plain_events_per_s: single.plain.events_per_s, single_secure_events_per_s: single.secure.events_per_s,
        single_plain_p99_ms: single.plain.p99_ms, single_secure_p99_ms: single.secure.p99_ms,
        single_throughput_change_pct: pct(single.secure.events_per_s, single.plain.events_per_s),
      };
    } finally {
      await lab.broker.process.stop();
    }
  } finally {
    await plainBroker.process.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const figures = await measureKafkaCost();
  console.log(JSON.stringify(figures));
  process.exit(0);
}
