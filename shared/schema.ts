import { z } from 'zod';

/**
 * Limits on `properties`, documented in labs/01-ingest/README.md ("Contract"). Depth counts
 * `properties` itself and each object or array nested in it (`{a: {b: [1]}}` is depth 3); size is the
 * UTF-8 length of `JSON.stringify(properties)`. Without them a 10 KB body of nested arrays
 * overflowed the stack when the event was serialised for Kafka.
 */
export const PROPERTIES_MAX_DEPTH = 10;
export const PROPERTIES_MAX_BYTES = 8 * 1024;

/** Deepest nesting of objects/arrays in `value` (0 for a scalar), walked without recursion. */
export function nestingDepth(value: unknown, stopAbove = Infinity): number {
  let deepest = 0;
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length) {
    const { value: v, depth } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const childDepth = depth + 1;
    deepest = Math.max(deepest, childDepth);
    if (deepest > stopAbove) return deepest;
    for (const child of Object.values(v)) stack.push({ value: child, depth: childDepth });
  }
  return deepest;
}

const Properties = z.record(z.string(), z.unknown()).superRefine((properties, ctx) => {
  const depth = nestingDepth(properties, PROPERTIES_MAX_DEPTH);
  if (depth > PROPERTIES_MAX_DEPTH) {
    ctx.addIssue({ code: 'custom', message: `nested more than ${PROPERTIES_MAX_DEPTH} levels deep` });
    return;
  }
  const bytes = Buffer.byteLength(JSON.stringify(properties));
  if (bytes > PROPERTIES_MAX_BYTES) {
    ctx.addIssue({ code: 'custom', message: `${bytes} bytes as JSON; at most ${PROPERTIES_MAX_BYTES}` });
  }
});

// C0 controls (NUL, newline, ESC…), DEL and C1 controls: never part of an identifier, and a NUL
// truncates the id in C-based tools downstream.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

// Bidirectional formatting characters (LRE…RLO, LRI…PDI, LRM, RLM, ALM): invisible, they make one id
// display as another ("Trojan Source", CVE-2021-42574), while the bytes, which the workers compare, differ.
const BIDI_CONTROL = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

const identifier = (max: number) =>
  z.string().min(1).max(max)
    .refine((s) => !CONTROL_CHARACTER.test(s), { message: 'must not contain control characters' })
    .refine((s) => !BIDI_CONTROL.test(s), { message: 'must not contain bidirectional formatting characters (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C)' });

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/i;

/**
 * Epoch ms of an ISO 8601 date-time that names an instant (a `Z` or `±hh:mm` offset; seconds and
 * fractions optional, e.g. `2026-11-25T10:00+02:00`), or undefined. Rejects days that do not
 * exist (`2026-02-30`), which Date.parse would silently roll over.
 */
export function parseInstant(text: string): number | undefined {
  const match = ISO_INSTANT.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const calendarDay = new Date(Date.UTC(year, month - 1, day));
  if (calendarDay.getUTCFullYear() !== year || calendarDay.getUTCMonth() !== month - 1 || calendarDay.getUTCDate() !== day) return undefined;
  const ms = Date.parse(text.toUpperCase());
  return Number.isNaN(ms) ? undefined : ms;
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';
const MAX_UUID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/** What a client sends to POST /track (or one element of POST /batch). Unknown fields are rejected so typos surface as 400s. */
export const CRMEvent = z
  .object({
    user_id: identifier(128),
    event_type: identifier(64),
    properties: Properties.default({}),
    /** When the event happened on the client: ISO 8601 with `Z` or an offset. */
    timestamp: z
      .string()
      .refine((s) => parseInstant(s) !== undefined, {
        message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-25T10:00:00Z or 2026-11-25T12:00+02:00',
      })
      .optional(),
    /**
     * Optional idempotency key: a client that retries after a timeout or 503 sends the same
     * event_id again, so the workers can recognise the duplicate. The nil and max UUIDs are
     * refused: an SDK that defaults to one would have every event after the first deduplicated away.
     */
    event_id: z
      .uuid()
      .refine((id) => id.toLowerCase() !== NIL_UUID && id.toLowerCase() !== MAX_UUID, {
        message: 'must not be the nil or max UUID (every event would share it)',
      })
      .optional(),
  })
  .strict();

export type CRMEvent = z.infer<typeof CRMEvent>;

/**
 * Lab 01's Segment endpoints (labs/01-ingest/src/segment/): what the message carried beyond the CRM
 * fields, as sent (all of it but `properties`/`traits`), the batch's `sentAt` and when it was received.
 */
export const SegmentFields = z.object({
  message: z.record(z.string(), z.unknown()),
  batchSentAt: z.string().optional(),
  receivedAt: z.iso.datetime(),
}).strict();

export type SegmentFields = z.infer<typeof SegmentFields>;

/** What the API writes to Kafka: the client's event plus the server's enrichment. */
export const EnrichedEvent = CRMEvent.extend({
  event_id: z.uuid(),
  server_timestamp: z.iso.datetime(),
  client_ip: z.string(),
  request_id: z.string().optional(),
  /** Lab 07: the customer whose write key sent the event; absent when the API checks no keys (labs 01–06). */
  customer_id: z.string().optional(),
  /** Sent through lab 01's Segment endpoints (POST /v1/…): the message's other fields, as sent. */
  segment: SegmentFields.optional(),
});

export type EnrichedEvent = z.infer<typeof EnrichedEvent>;

export interface Issue {
  path: string;
  message: string;
}

/** One readable line per problem, e.g. `user_id: Invalid input: expected string, received number`. */
export function describeIssues(error: z.ZodError): { message: string; issues: Issue[] } {
  return summarizeIssues(error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.join('.') : '(body)',
    message: issue.message,
  })));
}

export function summarizeIssues(issues: Issue[]): { message: string; issues: Issue[] } {
  return { message: issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues };
}
