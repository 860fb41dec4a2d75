/**
 * How the processor reads its input. `crm-events` holds JSON records (lab 01's API, and everything
 * from before lab 05's switch) and Confluent-framed Avro (lab 05's API, `npm run up -- --avro`):
 * lab 05's decoder reads both, telling them apart by the first byte, so this lab reuses it rather
 * than knowing the wire format itself.
 */
import type { KafkaMessage } from 'kafkajs';
import { AvroEventDecoder } from '../../05-schema-evolution/src/avro-decoder.js';
import { createRegistryClient } from '../../05-schema-evolution/src/schema-registry.js';
import { SchemaEnv } from '../../05-schema-evolution/src/settings.js';
import type { EnrichedEvent } from '../../../shared/schema.js';

export interface EventReader {
  /**
   * Fetches what `decode` needs for these records (the writer schemas of Avro records, once per
   * id). Throws when the registry does not answer: the records are fine, so the task fails and
   * reopens from the changelog rather than skip them.
   */
  prepare(messages: KafkaMessage[]): Promise<void>;
  /** The event, or a throw for a record that is no event (counted as unparseable and skipped). */
  decode(message: KafkaMessage): EnrichedEvent;
}

/**
 * Lab 05's decoder, on SCHEMA_REGISTRY_URL with reader schema SCHEMA_VERSION (lab 05's settings).
 * The registry is only asked when an Avro record arrives: a JSON-only topic never needs it.
 */
export function eventReaderFrom(env: NodeJS.ProcessEnv = process.env): EventReader {
  const schema = SchemaEnv.parse(env);
  return new AvroEventDecoder(createRegistryClient(schema.SCHEMA_REGISTRY_URL), schema.SCHEMA_VERSION);
}
