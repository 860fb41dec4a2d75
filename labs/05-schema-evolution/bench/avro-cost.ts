/**
 * What Avro through a registry costs and saves, per event, against lab 01's JSON: `npm run bench:avro`
 * (EVENTS=2000 CODEC_EVENTS=20000 to change sizes). Starts a broker and a registry on free ports,
 * runs avro-measure.ts (the same measurement `npm run bench` runs as its Avro phase) and prints a
 * table per part and a final `SUMMARY {json}` line.
 */
import { startKafka } from '../../../infra/kafka.js';
import { startRegistry } from '../../../infra/registry.js';
import { measureAvroCost } from './avro-measure.js';

const kafka = await startKafka();
const registry = await startRegistry();
try {
  const cost = await measureAvroCost({
    kafka, ccompatUrl: registry.ccompatUrl, events: Number(process.env.EVENTS ?? 2_000), codecEvents: Number(process.env.CODEC_EVENTS ?? 20_000),
  });
  console.log(`SUMMARY ${JSON.stringify(cost)}`);
} finally {
  await registry.process.stop();
  await kafka.process.stop();
}
process.exit(0);
