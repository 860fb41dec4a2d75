/**
 * The event's Avro schemas (schemas/*.avsc) and their zod twins for the HTTP body. The .avsc
 * files are the contract on the topic; the registry holds them under one subject.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { z } from 'zod';
import { CRMEvent, EnrichedEvent } from '../../../shared/schema.js';

/** The subject of the topic's record values (Confluent's TopicNameStrategy: `<topic>-value`). */
export const subjectOf = (topic: string) => `${topic}-value`;

/**
 * FULL_TRANSITIVE: every new version must be readable by every older reader (old workers keep
 * working on new events) and must read every older version (new workers replay old records).
 * BACKWARD alone would accept removing a field without default, which breaks the v1 workers.
 */
export const COMPATIBILITY_LEVEL = 'FULL_TRANSITIVE';

export type SchemaVersion = 1 | 2;

const schemaDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas');

/** The schema's JSON text as written in the repo (what is registered). */
export function schemaText(version: SchemaVersion): string {
  return readFileSync(join(schemaDir, `crm-event-v${version}.avsc`), 'utf8');
}

export function avroType(version: SchemaVersion): avro.Type {
  return avro.Type.forSchema(JSON.parse(schemaText(version)) as avro.Schema);
}

export const Device = z.object({ type: z.string().min(1).max(64), os: z.string().min(1).max(64) }).strict();

/** What a v2 client may send: v1's body plus an optional `device`. */
export const CRMEventV2 = CRMEvent.extend({ device: Device.optional() });

export const EnrichedEventV2 = EnrichedEvent.extend({ device: Device.nullish() });
export type EnrichedEventV2 = z.infer<typeof EnrichedEventV2>;

/** The body schema a producer at `version` accepts: a v1 API still refuses `device` (400). */
export const bodySchemaFor = (version: SchemaVersion) => (version === 2 ? CRMEventV2 : CRMEvent);

/** The decoded record a reader at `version` trusts (strict: a field it does not know fails). */
export const eventSchemaFor = (version: SchemaVersion) => (version === 2 ? EnrichedEventV2 : EnrichedEvent);
