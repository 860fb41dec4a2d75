/**
 * What Avro through a registry costs and saves, per event, against lab 01's JSON, on a broker and
 * registry the caller started. `npm run bench:avro` (avro-cost.ts) runs it alone; lab 01's
 * `npm run bench` runs it as its Avro phase.
 *
 *   codec   encode and decode in this process (the registry's ids and resolvers cached, as in steady state)
 *   phase   the same events POSTed through lab 01's app, once writing JSON and once Avro, to the broker;
 *           then bytes per event on the topic
 *
 * Prints a table per part; returns the figures.
 */
import { readdirSync, statSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import type { KafkaBroker } from '../../../infra/kafka.js';
import { loadConfig } from '../../../shared/config.js';
import { httpRequest } from '../../../shared/http.js';
import { createKafka } from '../../../shared/kafka.js';
import type { EnrichedEvent } from '../../../shared/schema.js';
import { buildApp } from '../../01-ingest/src/app.js';
import type { EventCodec } from '../../01-ingest/src/event-codec.js';
import { EventPublisher, publisherOptionsFrom } from '../../01-ingest/src/publisher.js';
import { AvroEventDecoder } from '../src/avro-decoder.js';
import { AvroEventEncoder } from '../src/avro-encoder.js';
import { createRegistryClient, registerSchemas } from '../src/schema-registry.js';
import { EnrichedEventV2, subjectOf } from '../src/schemas.js';

const CONCURRENCY = 16;

/** A realistic body: a few flat properties, and a device (codec part only). */
const body = (i: number) => ({
  user_id: `user_${i % 500}`,
  event_type: i % 3 ? 'page_view' : 'login',
  properties: { page: `/pricing/${i % 7}`, plan: 'pro', seats: i % 50, trial: i % 2 === 0 },
  timestamp: '2026-11-25T10:00:00.000Z',
  device: { type: i % 2 ? 'mobile' : 'desktop', os: i % 2 ? 'iOS' : 'Windows' },
});
const enriched = (i: number) => ({
  ...body(i), event_id: '0f8fad5b-d9cb-469f-a165-70867728950e', server_timestamp: '2026-11-25T10:00:00.123Z',
  client_ip: '127.0.0.1', request_id: '7b5f8c1e-8d4a-4c39-9e0b-2a1d6f3e9c80',
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** µs per call of `fn` over `events`, median of 5 rounds after a warm-up round. */
async function usPerEvent<T>(events: T[], fn: (e: T) => unknown): Promise<number> {
  const rounds: number[] = [];
  for (let round = 0; round < 6; round++) {
    const start = process.hrtime.bigint();
    for (const e of events) await fn(e);
    if (round > 0) rounds.push(Number(process.hrtime.bigint() - start) / 1_000 / events.length);
  }
  return median(rounds);
}

export interface PhaseFigures {
  accepted: number;
  events_per_s: number;
  cpu_us_per_event: number;
}

export interface AvroCost {
  events: number;
  codec_events: number;
  codec: {
    json_encode_us: number; avro_encode_us: number; json_decode_us: number; avro_decode_us: number;
    json_value_bytes: number; avro_value_bytes: number;
  };
  phases: { json: PhaseFigures; avro: PhaseFigures };
  log_bytes_per_event: { json: number; avro: number };
}

/**
 * Measures on `kafka` (its data folder is read for the log bytes) and the registry at `ccompatUrl`,
 * writing to the topics `<prefix>-json` and `<prefix>-avro` (created by the first send).
 */
export async function measureAvroCost(o: { kafka: KafkaBroker; ccompatUrl: string; events: number; codecEvents: number; topicPrefix?: string }): Promise<AvroCost> {
  const { kafka, events: EVENTS, codecEvents: CODEC_EVENTS } = o;
  const topics = { json: `${o.topicPrefix ?? 'bench'}-json`, avro: `${o.topicPrefix ?? 'bench'}-avro` };
  const ids = await registerSchemas(o.ccompatUrl, topics.avro);
  const registryClient = createRegistryClient(o.ccompatUrl);
  const encoder = new AvroEventEncoder(registryClient, { subject: subjectOf(topics.avro), version: 2 });
  const decoder = new AvroEventDecoder(registryClient, 2);

  // ---- codec ----------------------------------------------------------------------------------
  const events = Array.from({ length: CODEC_EVENTS }, (_, i) => enriched(i)) as EnrichedEvent[];
  const jsonValues = events.map((e) => Buffer.from(JSON.stringify(e)));
  const avroValues: Buffer[] = [];
  for (const e of events) avroValues.push(await encoder.encode(e));
  await decoder.prepare(avroValues.slice(0, 1).map((value) => ({ value }) as never)); // the writer schema, fetched once
  const codec = {
    json_encode_us: await usPerEvent(events, (e) => Buffer.from(JSON.stringify(e))),
    avro_encode_us: await usPerEvent(events, (e) => encoder.encode(e)),
    json_decode_us: await usPerEvent(jsonValues, (v) => EnrichedEventV2.parse(JSON.parse(v.toString()))),
    avro_decode_us: await usPerEvent(avroValues, (v) => decoder.decode({ value: v } as never)),
    json_value_bytes: jsonValues.reduce((n, v) => n + v.length, 0) / events.length,
    avro_value_bytes: avroValues.reduce((n, v) => n + v.length, 0) / events.length,
  };
  console.log(`codec (${CODEC_EVENTS} events, schema id ${ids[2]} cached; decode includes the zod check)`);
  console.table({
    JSON: { 'encode µs': codec.json_encode_us.toFixed(2), 'decode µs': codec.json_decode_us.toFixed(2), 'value bytes': codec.json_value_bytes.toFixed(1) },
    Avro: { 'encode µs': codec.avro_encode_us.toFixed(2), 'decode µs': codec.avro_decode_us.toFixed(2), 'value bytes': codec.avro_value_bytes.toFixed(1) },
  });

  // ---- phase: through the API to the broker ---------------------------------------------------
  const phase = async (name: 'json' | 'avro'): Promise<PhaseFigures> => {
    const config = loadConfig({ LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '1000000', KAFKA_BROKERS: kafka.brokers.join(','), KAFKA_TOPIC: topics[name] });
    const publisher = new EventPublisher(createKafka(config.kafkaBrokers, `bench-${name}`), { ...publisherOptionsFrom(config), partitions: 2, timeoutMs: 10_000 });
    await publisher.start();
    const codecOption: EventCodec | undefined = name === 'avro' ? new AvroEventEncoder(registryClient, { subject: subjectOf(topics.avro), version: 2 }) : undefined;
    // The same v1 body for both (lab 01's JSON API refuses `device`); Avro writes it as v2, device null.
    const app = await buildApp(config, publisher, undefined, { codec: codecOption });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    let next = 0;
    let accepted = 0;
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < EVENTS) {
        const i = next++;
        const { device: _device, ...v1 } = body(i);
        const res = await httpRequest({ url: `${url}/track`, body: v1, agent });
        if (res.status === 202) accepted++;
      }
    }));
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    agent.destroy();
    await app.close();
    await publisher.stop();
    return { accepted, events_per_s: accepted / seconds, cpu_us_per_event: (cpu.user + cpu.system) / accepted };
  };
  // Alternated, the better of two rounds each: whichever runs first also warms the process (JIT, connections).
  const rounds: Record<'json' | 'avro', PhaseFigures[]> = { json: [], avro: [] };
  for (let round = 0; round < 2; round++) for (const name of ['json', 'avro'] as const) rounds[name].push(await phase(name));
  const better = (r: PhaseFigures[]) => r.reduce((a, b) => (b.events_per_s > a.events_per_s ? b : a));
  const phases = { json: better(rounds.json), avro: better(rounds.avro) };
  const storedOf = (r: PhaseFigures[]) => r.reduce((n, p) => n + p.accepted, 0);

  // Bytes on the broker's disk per event: the partitions' log segments (record batches, headers included).
  const logBytes = (topic: string) => readdirSync(join(kafka.dataDir, 'data')).filter((d) => d.startsWith(`${topic}-`))
    .flatMap((d) => readdirSync(join(kafka.dataDir, 'data', d)).filter((f) => f.endsWith('.log')).map((f) => statSync(join(kafka.dataDir, 'data', d, f)).size))
    .reduce((a, b) => a + b, 0);
  const disk = { json: logBytes(topics.json) / storedOf(rounds.json), avro: logBytes(topics.avro) / storedOf(rounds.avro) };
  console.log(`\nphase: ${EVENTS} POST /track through lab 01's app, ${CONCURRENCY} in flight, one process (client + API), the same v1 bodies; Avro written as v2 (device null); alternated, better of 2 rounds`);
  console.table({
    JSON: { accepted: phases.json.accepted, 'events/s': phases.json.events_per_s.toFixed(0), 'process CPU µs/event': phases.json.cpu_us_per_event.toFixed(0), 'log bytes/event': disk.json.toFixed(1) },
    Avro: { accepted: phases.avro.accepted, 'events/s': phases.avro.events_per_s.toFixed(0), 'process CPU µs/event': phases.avro.cpu_us_per_event.toFixed(0), 'log bytes/event': disk.avro.toFixed(1) },
  });
  return { events: EVENTS, codec_events: CODEC_EVENTS, codec, phases, log_bytes_per_event: disk };
}
