/**
 * The registry as the lab uses it: `@kafkajs/confluent-schema-registry` on Apicurio's
 * Confluent-compatible API, with its failures sorted into the two that matter to a caller.
 */
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type avro from 'avsc';
import { COMPATIBILITY_LEVEL, schemaText, subjectOf, type SchemaVersion } from './schemas.js';

/** The registry answered: no such schema id, or the schema is not registered under the subject. */
export class SchemaNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaNotFoundError';
  }
}

/** The registry did not answer (down, unreachable, 5xx): nothing is wrong with the event. */
export class RegistryUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegistryUnavailableError';
  }
}

/**
 * The library reports a refused connection as a response with status 400 (mappersmith's
 * convention), so only a 404 is read as an answer; anything else is the registry being unavailable.
 */
function classify(error: unknown, what: string): Error {
  const status = (error as { status?: number }).status;
  if (status === 404) return new SchemaNotFoundError(`${what}: not found in the schema registry`);
  return new RegistryUnavailableError(`schema registry unavailable (${what}): ${(error as Error).message}`, { cause: error });
}

/** A client for `ccompatUrl` (…/apis/ccompat/v7). `retries`: the library's own retries per call. */
export function createRegistryClient(ccompatUrl: string, opts: { retries?: number } = {}): SchemaRegistry {
  return new SchemaRegistry({ host: ccompatUrl, clientId: 'crm-event-lab', retry: { retries: opts.retries ?? 1, maxRetryTimeInSecs: 1 } });
}

/** The writer schema of a record, by the id in its wire header (cached by the client once fetched). */
export async function writerTypeById(registry: SchemaRegistry, id: number): Promise<avro.Type> {
  try {
    return (await registry.getSchema(id)) as unknown as avro.Type;
  } catch (error) {
    throw classify(error, `schema id ${id}`);
  }
}

/** The id the registry gave this version of the repo's schema under `subject` (looked up, never registered). */
export async function registeredId(registry: SchemaRegistry, subject: string, version: SchemaVersion): Promise<number> {
  try {
    return await registry.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema: schemaText(version) });
  } catch (error) {
    // getRegistryIdBySchema wraps a 404 in its own error type, without the status.
    if ((error as Error).name === 'ConfluentSchemaRegistryError') {
      return Promise.reject(new SchemaNotFoundError(`schema v${version} is not registered under ${subject}: run npm run up (or registerSchemas)`));
    }
    throw classify(error, `schema v${version} under ${subject}`);
  }
}

/**
 * What `npm run up` does for lab 05: sets the subject's compatibility level, then registers v1
 * and v2 in order (idempotent: a schema already registered keeps its id). Returns the ids.
 */
export async function registerSchemas(ccompatUrl: string, topic = 'crm-events'): Promise<Record<SchemaVersion, number>> {
  const subject = subjectOf(topic);
  // Set first, so no version is ever registered unchecked; the library would set it only after
  // the subject's first registration.
  const response = await fetch(`${ccompatUrl}/config/${encodeURIComponent(subject)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: COMPATIBILITY_LEVEL }),
  });
  if (!response.ok) throw new Error(`setting ${subject} compatibility to ${COMPATIBILITY_LEVEL}: HTTP ${response.status} ${await response.text()}`);
  const registry = createRegistryClient(ccompatUrl);
  const ids = {} as Record<SchemaVersion, number>;
  for (const version of [1, 2] as const) {
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: schemaText(version) },
      { subject, compatibility: COMPATIBILITY[COMPATIBILITY_LEVEL] },
    );
    ids[version] = id;
  }
  return ids;
}
