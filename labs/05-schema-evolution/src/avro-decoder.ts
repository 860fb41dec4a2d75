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
  /** Writer schemas by id, fetched by `prepare`; `decode` reads only these. */
  private readonly writerTypes = new Map<number, avro.Type>();
  /** One resolver per writer schema id: building one compares both schemas, so it is done once. */
  private readonly resolvers = new Map<number, avro.Resolver>();
  /** Ids the registry answered "not found" for, the last time `prepare` asked. */
  private readonly unknownIds = new Set<number>();
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
   * Fetches the writer schemas of a batch's Avro records that are not cached yet (the worker
   * awaits this before its synchronous `decode`). A registry that does not answer throws
   * RegistryUnavailableError, which the worker lets through (the batch is retried, its offsets
   * stay uncommitted): the records are fine, the registry will be back. An unknown id is
   * remembered for `decode` to report as unreadable.
   */
  async prepare(messages: KafkaMessage[]): Promise<void> {
    const ids = new Set<number>();
    for (const message of messages) {
      const wire = readWire(message.value);
      if (wire.format === 'avro' && !this.writerTypes.has(wire.schemaId)) ids.add(wire.schemaId);
    }
    for (const id of ids) {
      try {
        const type = await writerTypeById(this.registry, id);
        this.writerTypes.set(id, type);
        this.unknownIds.delete(id);
      } catch (error) {
        if (error instanceof SchemaNotFoundError) {
          this.unknownIds.add(id);
          continue;
        }
        this.registryFailures++;
        throw error;
      }
    }
  }

  private writerType(id: number): avro.Type {
    const type = this.writerTypes.get(id);
    if (type) return type;
    if (this.unknownIds.has(id)) throw new UnreadableRecordError(`schema id ${id} is unknown to the registry`);
    // Not an unreadable record: a lane that decodes without awaiting prepare first (a bug).
    throw new Error(`schema id ${id} was not fetched: the lane must await prepare() before decode()`);
  }

  private resolverFor(id: number): avro.Resolver {
    // #region solution 05:reader-schema — Read a record written with schema `id` through this worker's own (reader) schema
    // hint: Avro schema resolution: `this.readerType.createResolver(writerType)` maps the writer's fields onto the reader's (a v1 reader skips `device`; a v2 reader gets its default, null).
    // hint: The writer's type comes from `this.writerType(id)` (fetched by prepare()). Building a resolver compares both schemas: cache one per id in `this.resolvers`.
    let resolver = this.resolvers.get(id);
    if (!resolver) {
      resolver = this.readerType.createResolver(this.writerType(id));
      this.resolvers.set(id, resolver);
    }
    return resolver;
    // #endregion solution
  }

  /**
   * The event as this worker's version knows it, synchronously, from the schemas `prepare`
   * fetched; throws UnreadableRecordError for what no retry can fix.
   */
  decode(message: KafkaMessage): EnrichedEvent {
    const wire = readWire(message.value);
    const schema = eventSchemaFor(this.readerVersion);
    if (wire.format === 'unknown') throw new UnreadableRecordError(wire.reason);
    if (wire.format === 'json') return schema.parse(JSON.parse(message.value!.toString()));
    const type = this.useReaderSchema ? this.readerType : this.writerType(wire.schemaId);
    const resolver = this.useReaderSchema ? this.resolverFor(wire.schemaId) : undefined;
    let record: Record<string, unknown>;
    try {
      record = type.fromBuffer(wire.body, resolver);
    } catch (error) {
      throw new UnreadableRecordError(`Avro body of schema id ${wire.schemaId} does not decode: ${(error as Error).message}`, { cause: error });
    }
    return schema.parse(fromAvroRecord(record));
  }
}
