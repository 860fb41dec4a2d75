/**
 * The API's side: each accepted event is written with the producer's schema version, as the
 * registry knows it (its id in the wire header). The API never registers a schema: `up` does,
 * under the subject's compatibility rule; an API deployed ahead of its schema answers 503.
 */
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type avro from 'avsc';
import type { EnrichedEvent } from '../../../shared/schema.js';
import { EventEncodeError, type EventCodec } from '../../01-ingest/src/event-codec.js';
import { registeredId, RegistryUnavailableError, SchemaNotFoundError } from './schema-registry.js';
import { avroType, bodySchemaFor, type EnrichedEventV2, type SchemaVersion } from './schemas.js';
import { toWire } from './wire-format.js';

/** The event as an Avro record of `version`: absent optional fields are null, v1 has no device. */
export function toAvroRecord(event: EnrichedEvent, version: SchemaVersion): Record<string, unknown> {
  const record: Record<string, unknown> = {
    event_id: event.event_id,
    user_id: event.user_id,
    event_type: event.event_type,
    properties: event.properties,
    timestamp: event.timestamp ?? null,
    server_timestamp: event.server_timestamp,
    client_ip: event.client_ip,
    request_id: event.request_id ?? null,
  };
  if (version === 2) record.device = (event as EnrichedEventV2).device ?? null;
  return record;
}

/** Where and why a record does not fit its Avro type, one line per problem. */
export function misfits(type: avro.Type, record: unknown): string[] {
  const problems: string[] = [];
  type.isValid(record, {
    errorHook: (path, value, fieldType) =>
      problems.push(`${path.join('.')}: ${JSON.stringify(value)?.slice(0, 80)} does not fit Avro type ${JSON.stringify(fieldType.schema())}`),
  });
  return problems;
}

export class AvroEventEncoder implements EventCodec {
  readonly bodySchema: EventCodec['bodySchema'];
  private readonly type: avro.Type;
  private lookup?: Promise<number>;

  constructor(
    private readonly registry: SchemaRegistry,
    readonly o: { subject: string; version: SchemaVersion },
  ) {
    this.bodySchema = bodySchemaFor(o.version);
    this.type = avroType(o.version);
  }

  /**
   * The writer schema's id, looked up once and then cached: a registry outage after that does
   * not matter. Requests that arrive while the lookup is in flight share it (without that, a
   * cold replica under load sends one lookup per request: the bench ran out of sockets).
   */
  writerSchemaId(): Promise<number> {
    this.lookup ??= registeredId(this.registry, this.o.subject, this.o.version).catch((error: unknown) => {
      this.lookup = undefined; // the next request asks again
      if (error instanceof RegistryUnavailableError) {
        throw new EventEncodeError('schema_registry_unavailable', `${error.message}; the event was not accepted, retry with the same event_id`);
      }
      if (error instanceof SchemaNotFoundError) throw new EventEncodeError('schema_not_registered', error.message);
      throw error;
    });
    return this.lookup;
  }

  async encode(event: EnrichedEvent): Promise<Buffer> {
    const record = toAvroRecord(event, this.o.version);
    // Checked before the registry is asked: a misfit is the client's to fix, registry or not.
    const problems = misfits(this.type, record);
    if (problems.length > 0) throw new EventEncodeError('schema_mismatch', problems.join('; '));
    return toWire(await this.writerSchemaId(), this.type.toBuffer(record));
  }
}
