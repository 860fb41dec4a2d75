/**
 * `npm run bench`'s Avro phase: lab 05's measurement (labs/05-schema-evolution/bench/avro-measure.ts,
 * also `npm run bench:avro` on its own) on the bench's broker, with a registry of its own. A
 * benchmark-only dependency on a later lab: lab 01's code itself knows nothing of Avro beyond its
 * codec seam.
 */
import { join } from 'node:path';
import type { KafkaBroker } from '../infra/kafka.js';
import { startRegistry } from '../infra/registry.js';
import { measureAvroCost, type AvroCost } from '../labs/05-schema-evolution/bench/avro-measure.js';
import { figure } from './stats.js';

export async function avroPhase(o: { kafka: KafkaBroker; root: string; events: number; codecEvents: number }): Promise<AvroCost> {
  const registry = await startRegistry({ dataDir: join(o.root, 'registry'), logDir: join(o.root, 'logs') });
  try {
    return await measureAvroCost({ kafka: o.kafka, ccompatUrl: registry.ccompatUrl, events: o.events, codecEvents: o.codecEvents, topicPrefix: 'bench-codec' });
  } finally {
    await registry.process.stop();
  }
}

/** The SUMMARY keys of the Avro phase (null when it did not run). */
export function avroSummary(cost: AvroCost | undefined): Record<string, number | null> {
  return {
    json_events_per_s: figure(cost?.phases.json.events_per_s),
    avro_events_per_s: figure(cost?.phases.avro.events_per_s),
    json_cpu_us_per_event: figure(cost?.phases.json.cpu_us_per_event),
    avro_cpu_us_per_event: figure(cost?.phases.avro.cpu_us_per_event),
    json_encode_us: figure(cost?.codec.json_encode_us),
    avro_encode_us: figure(cost?.codec.avro_encode_us),
    json_value_bytes: figure(cost?.codec.json_value_bytes),
    avro_value_bytes: figure(cost?.codec.avro_value_bytes),
    json_log_bytes_per_event: figure(cost?.log_bytes_per_event.json),
    avro_log_bytes_per_event: figure(cost?.log_bytes_per_event.avro),
  };
}
