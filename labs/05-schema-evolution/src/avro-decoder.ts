/**
 * The worker's side: each record is read with the worker's own reader schema. Avro schema
 * resolution maps the writer's fields onto the reader's: a v1 worker reading a v2 record
 * skips `device`; a v2 worker reading a v1 record gets the default, null. JSON records from
 * before the switch are still read as JSON (the first byte tells them apart).
 */
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type avro from 'avsc';
import type { KafkaMessage } from 'kafkajs';
import type { EnrichedEvent } from '../../../shared/schema.js';
import { SchemaNotFoundError, writerTypeById } from './schema-registry.js';
import { avroType, eventSchemaFor, type SchemaVersion } from './schemas.js';
import { readWire } from './wire-format.js';

/** The record can never be read, whatever is retried: the retry lane and then the DLQ take it. */
export class UnreadableRecordError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnreadableRecordError';
  }
}

/**
 * An Avro record as the JSON event: nulls back to absent fields, and nested records (avsc
 * class instances, with methods a strict zod object would reject) to plain objects.
 */
function fromAvroRecord(record: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record)
    .filter(([, value]) => value !== null)
    .map(([key, value]) => [key, typeof value === 'object' && !Array.isArray(value) && key !== 'properties' ? fromAvroRecord(value as object) : value]));
}

export class AvroEventDecoder {
  private readonly readerType: avro.Type;
  /** One resolver per writer schema id: building one compares both schemas, so it is done once. */
  private readonly resolvers = new Map<number, avro.Resolver>();
  /** Times `prepare` found the registry unavailable (each one a batch left uncommitted, to be retried). */
  registryFailures = 0;

  constructor(
    private readonly registry: SchemaRegistry,
    readonly readerVersion: SchemaVersion,
    /** Off only to show what breaks: decode with the writer's schema, as if the worker had none of its own. */
    private readonly useReaderSchema = true,
  ) {
    this.readerType = avroType(readerVersion);
  }

  /**
   * Fetches the writer schema of an Avro record unless cached. A registry that does not answer
   * throws RegistryUnavailableError, which the worker must let through (the batch is retried,
   * its offset stays uncommitted): the record is fine, the registry will be back. An unknown id
   * is left for `decode` to report as unreadable.
   */
  async prepare(message: KafkaMessage): Promise<void> {
    const wire = readWire(message.value);
    if (wire.format !== 'avro' || this.resolvers.has(wire.schemaId)) return;
    await this.writerType(wire.schemaId).catch((error: unknown) => {
      if (error instanceof UnreadableRecordError) return;
      this.registryFailures++;
      throw error;
    });
  }

  private async writerType(id: number): Promise<avro.Type> {
    try {
      return await writerTypeById(this.registry, id);
    } catch (error) {
      if (error instanceof SchemaNotFoundError) throw new UnreadableRecordError(`schema id ${id} is unknown to the registry`, { cause: error });
      throw error;
    }
  }

  private async resolverFor(id: number): Promise<avro.Resolver> {
    let resolver = this.resolvers.get(id);
    if (!resolver) {
      resolver = this.readerType.createResolver(await this.writerType(id));
      this.resolvers.set(id, resolver);
    }
    return resolver;
  }

  /** The event as this worker's version knows it; throws UnreadableRecordError for what no retry can fix. */
  async decode(message: KafkaMessage): Promise<EnrichedEvent> {
    const wire = readWire(message.value);
    const schema = eventSchemaFor(this.readerVersion);
    if (wire.format === 'unknown') throw new UnreadableRecordError(wire.reason);
    if (wire.format === 'json') return schema.parse(JSON.parse(message.value!.toString()));
    // Registry failures propagate from here as they are; only the bytes themselves are judged below.
    const type = this.useReaderSchema ? this.readerType : await this.writerType(wire.schemaId);
    const resolver = this.useReaderSchema ? await this.resolverFor(wire.schemaId) : undefined;
    let record: Record<string, unknown>;
    try {
      record = type.fromBuffer(wire.body, resolver);
    } catch (error) {
      throw new UnreadableRecordError(`Avro body of schema id ${wire.schemaId} does not decode: ${(error as Error).message}`, { cause: error });
    }
    return schema.parse(fromAvroRecord(record));
  }
}
