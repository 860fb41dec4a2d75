/**
 * Schema changes, and which compatibility levels accept each as the subject's next version.
 * The README's table is this data; test/registry.test.ts registers every row on the real
 * registry under every level and checks the answer (200 or 409).
 */
import { schemaText } from './schemas.js';

export const LEVELS = ['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FULL', 'FULL_TRANSITIVE', 'NONE'] as const;
export type Level = (typeof LEVELS)[number];

interface AvroField {
  name: string;
  type: unknown;
  default?: unknown;
}
interface RecordSchema {
  fields: AvroField[];
  [key: string]: unknown;
}

const v1 = (): RecordSchema => JSON.parse(schemaText(1)) as RecordSchema;
const withFields = (schema: RecordSchema, change: (fields: AvroField[]) => AvroField[]) => ({ ...schema, fields: change(schema.fields) });
const withSource = (field: AvroField) => withFields(v1(), (fields) => [...fields, field]);

export interface SchemaChange {
  change: string;
  /** Registered first, in order (each step is itself fully compatible). */
  history: RecordSchema[];
  candidate: RecordSchema;
  accepted: Record<Level, boolean>;
}

const only = (...levels: Level[]) => Object.fromEntries(LEVELS.map((l) => [l, levels.includes(l)])) as Record<Level, boolean>;

export const schemaChanges: SchemaChange[] = [
  {
    change: 'add an optional field with a default (v2: device)',
    history: [v1()],
    candidate: JSON.parse(schemaText(2)) as RecordSchema,
    accepted: only(...LEVELS),
  },
  {
    change: 'add a required field (no default)',
    history: [v1()],
    candidate: withSource({ name: 'source', type: 'string' }),
    accepted: only('FORWARD', 'NONE'),
  },
  {
    change: 'remove a field that has a default (request_id)',
    history: [v1()],
    candidate: withFields(v1(), (fields) => fields.filter((f) => f.name !== 'request_id')),
    accepted: only(...LEVELS),
  },
  {
    change: 'remove a required field (event_type)',
    history: [v1()],
    candidate: withFields(v1(), (fields) => fields.filter((f) => f.name !== 'event_type')),
    accepted: only('BACKWARD', 'BACKWARD_TRANSITIVE', 'NONE'),
  },
  {
    change: 'change a type (user_id string → int)',
    history: [v1()],
    candidate: withFields(v1(), (fields) => fields.map((f) => (f.name === 'user_id' ? { ...f, type: 'int' } : f))),
    accepted: only('NONE'),
  },
  {
    change: 'rename a field (event_type → type), no alias',
    history: [v1()],
    candidate: withFields(v1(), (fields) => fields.map((f) => (f.name === 'event_type' ? { ...f, name: 'type' } : f))),
    accepted: only('NONE'),
  },
  {
    change: 'drop the default of a field added with one (v1, v2 + source="web", v3 without the default)',
    history: [v1(), withSource({ name: 'source', type: 'string', default: 'web' })],
    candidate: withSource({ name: 'source', type: 'string' }),
    accepted: only('BACKWARD', 'FORWARD', 'FULL', 'NONE'),
  },
];
