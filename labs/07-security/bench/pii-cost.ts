/**
 * What sealing PII costs per event (`npm run bench:pii`; CODEC_EVENTS=20000 EVENTS=5000 USERS=500 to change sizes).
 *
 *   codec      in this process, one core: lab 01's JSON encode against lab 07's (four PII fields sealed
 *              under each user's data key, looked up and unwrapped from the SQLite key store every time,
 *              as the API does: no cache), and the worker's side (parse + zod, and opening the fields)
 *   publisher  the same events through the real EventPublisher to a broker this script starts on free
 *              ports, once as JSON and once sealed: events/s acked and process CPU µs per event
 *
 * Prints a table per part; `measurePiiCost()` returns the figures (the lead's `bench:security` sums them up).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startKafka } from '../../../infra/kafka.js';
import { loadConfig } from '../../../shared/config.js';
import { createKafka } from '../../../shared/kafka.js';
import { EnrichedEvent } from '../../../shared/schema.js';
import { EventPublisher, publisherOptionsFrom } from '../../01-ingest/src/publisher.js';
import { loadOrCreateKek } from '../src/pii/kek.js';
import { KeyStore } from '../src/pii/key-store.js';
import { decryptEvent, PiiEventCodec } from '../src/pii/pii-codec.js';
import { DEFAULT_PII_FIELDS } from '../src/pii/pii-fields.js';

const CODEC_EVENTS = Number(process.env.CODEC_EVENTS ?? 20_000);
const EVENTS = Number(process.env.EVENTS ?? 5_000);
const USERS = Number(process.env.USERS ?? 500);
const IN_FLIGHT = 256;

const eventOf = (i: number): EnrichedEvent => ({
  user_id: `user_${i % USERS}`,
  event_type: i % 3 ? 'page_view' : 'login',
  properties: { page: `/pricing/${i % 7}`, plan: 'pro', email: `user_${i % USERS}@example.com`, phone: '+33 6 12 34 56 78', name: 'Ada Lovelace' },
  timestamp: '2026-11-25T10:00:00.000Z',
  event_id: randomUUID(),
  server_timestamp: '2026-11-25T10:00:00.123Z',
  client_ip: '203.0.113.7',
  request_id: '7b5f8c1e-8d4a-4c39-9e0b-2a1d6f3e9c80',
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** µs per call of `fn` over `items`, median of 5 rounds after a warm-up round. */
async function usPerEvent<T>(items: T[], fn: (item: T) => unknown): Promise<number> {
  const rounds: number[] = [];
  for (let round = 0; round < 6; round++) {
    const start = process.hrtime.bigint();
    for (const item of items) await fn(item);
    if (round > 0) rounds.push(Number(process.hrtime.bigint() - start) / 1_000 / items.length);
  }
  return median(rounds);
}

export async function measurePiiCost(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'pii-bench-'));
  const keys = new KeyStore(join(dir, 'keys.db'), loadOrCreateKek(join(dir, 'kek')));
  const codec = new PiiEventCodec(keys, DEFAULT_PII_FIELDS);

  // ---- codec ------------------------------------------------------------------------------------
  const events = Array.from({ length: CODEC_EVENTS }, (_, i) => eventOf(i));
  for (let u = 0; u < USERS; u++) keys.keyFor(`user_${u}`); // keys exist, as in steady state
  const jsonValues = events.map((e) => Buffer.from(JSON.stringify(e)));
  const sealedValues = await Promise.all(events.map((e) => codec.encode(e)));
  const c = {
    json_encode_us: await usPerEvent(events, (e) => Buffer.from(JSON.stringify(e))),
    pii_encode_us: await usPerEvent(events, (e) => codec.encode(e)),
    key_lookup_us: await usPerEvent(events, (e) => keys.keyFor(e.user_id)),
    json_decode_us: await usPerEvent(jsonValues, (v) => EnrichedEvent.parse(JSON.parse(v.toString()))),
    pii_decode_us: await usPerEvent(sealedValues, (v) => decryptEvent(EnrichedEvent.parse(JSON.parse(v.toString())), keys, DEFAULT_PII_FIELDS)),
    json_value_bytes: jsonValues.reduce((n, v) => n + v.length, 0) / events.length,
    pii_value_bytes: sealedValues.reduce((n, v) => n + v.length, 0) / events.length,
  };
  console.log(`codec: ${CODEC_EVENTS} events of ${USERS} users, 4 PII fields each, one core (median of 5 rounds)`);
  console.table({
    JSON: { 'encode µs': c.json_encode_us.toFixed(2), 'encode events/s': (1e6 / c.json_encode_us).toFixed(0), 'decode µs': c.json_decode_us.toFixed(2), 'value bytes': c.json_value_bytes.toFixed(0) },
    'PII sealed': { 'encode µs': c.pii_encode_us.toFixed(2), 'encode events/s': (1e6 / c.pii_encode_us).toFixed(0), 'decode µs': c.pii_decode_us.toFixed(2), 'value bytes': c.pii_value_bytes.toFixed(0) },
  });
  console.log(`of which the data key's lookup and unwrap (one SQLite read, one AES-GCM open): ${c.key_lookup_us.toFixed(2)} µs per event`);

  // ---- publisher: to a real broker ----------------------------------------------------------------
  const kafka = await startKafka();
  try {
    const phase = async (name: 'json' | 'pii') => {
      const config = loadConfig({ LOG_LEVEL: 'warn', KAFKA_BROKERS: kafka.brokers.join(','), KAFKA_TOPIC: `bench-pii-${name}` });
      const publisher = new EventPublisher(createKafka(config.kafkaBrokers, `bench-${name}`), { ...publisherOptionsFrom(config), timeoutMs: 30_000 });
      await publisher.start();
      const batch = Array.from({ length: EVENTS }, (_, i) => eventOf(i));
      let next = 0;
      let acked = 0;
      const cpuBefore = process.cpuUsage();
      const start = performance.now();
      await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
        while (next < batch.length) {
          const event = batch[next++]!;
          await publisher.publish(event, {}, name === 'pii' ? await codec.encode(event) : undefined);
          acked++;
        }
      }));
      const seconds = (performance.now() - start) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      await publisher.stop();
      return { events_per_s: acked / seconds, cpu_us_per_event: (cpu.user + cpu.system) / acked };
    };
    const json = await phase('json');
    const pii = await phase('pii');
    console.log(`\npublisher: ${EVENTS} events through EventPublisher to a local broker, ${IN_FLIGHT} in flight, acks=all`);
    console.table({
      JSON: { 'events/s acked': json.events_per_s.toFixed(0), 'process CPU µs/event': json.cpu_us_per_event.toFixed(0) },
      'PII sealed': { 'events/s acked': pii.events_per_s.toFixed(0), 'process CPU µs/event': pii.cpu_us_per_event.toFixed(0) },
    });
    return {
      ...c,
      json_encode_events_per_s: 1e6 / c.json_encode_us,
      pii_encode_events_per_s: 1e6 / c.pii_encode_us,
      publish_json_events_per_s: json.events_per_s,
      publish_pii_events_per_s: pii.events_per_s,
      publish_json_cpu_us_per_event: json.cpu_us_per_event,
      publish_pii_cpu_us_per_event: pii.cpu_us_per_event,
    };
  } finally {
    await kafka.process.stop();
    keys.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const figures = await measurePiiCost();
  console.log(`SUMMARY ${JSON.stringify(figures)}`);
  process.exit(0);
}
