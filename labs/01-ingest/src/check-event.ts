import type { z } from 'zod';
import { CRMEvent, PROPERTIES_MAX_DEPTH, describeIssues, parseInstant, summarizeIssues, type Issue } from '../../../shared/schema.js';
import type { InexactNumber } from './exact-numbers.js';
import type { DuplicateKey } from './duplicate-keys.js';

/**
 * How far ahead of the server's clock a client timestamp may be: phones and laptops drift, but an
 * event from tomorrow is a bug (or a forged date) that would sort after everything real.
 */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** What only the request knows about an event: the time, and what the body parser saw (request-body.ts). */
export interface EventContext {
  nowMs: number;
  invalidUtf8: boolean;
  inexactNumbers?: InexactNumber[] | undefined;
  duplicateKeys?: DuplicateKey[] | undefined;
  schema?: z.ZodType<CRMEvent> | undefined;
}

export type EventCheck =
  | { ok: true; event: CRMEvent }
  | { ok: false; message: string; issues: Issue[] };

/**
 * Validates one event as the API receives it: the schema (shared/schema.ts, or `schema`, lab 05's
 * body schema), plus what only makes sense at request time — a timestamp at most MAX_CLOCK_SKEW_MS in the future, no field whose
 * text came from bytes that were not UTF-8 (`invalidUtf8`: see request-body.ts), and no number the
 * parser could not keep as written (`inexactNumbers`, paths from the top of this event: see exact-numbers.ts),
 * and no key written twice in one object (`duplicateKeys`: see duplicate-keys.ts).
 */
export function checkEvent(input: unknown, context: EventContext): EventCheck {
  // #region solution 01:validation-400 — Validate one event: the schema, at most MAX_CLOCK_SKEW_MS in the future, no field that was invalid UTF-8; name every problem
  // hint: `(context.schema ?? CRMEvent).safeParse(input)` checks the shape; `describeIssues(parsed.error).issues` turns zod's errors into `{path, message}` issues.
  // hint: The clock-skew check is request-time, so it is not in the schema: parse `timestamp` with `parseInstant` and compare with `context.nowMs`. Check it even when other fields failed, so one answer names every problem.
  // hint: When `context.invalidUtf8`, blame each field holding U+FFFD: `replacedTextFields(input)` (below) lists their paths. `summarizeIssues(issues)` makes the message.
  // hint: Each of `context.inexactNumbers` (numbers the parser rounded) and `context.duplicateKeys` (keys the parser overwrote) is an issue too: its path joined with '.', and a message with its `text` as sent and its `reason`.
  // stub: return { ok: true, event: input as CRMEvent };
  const issues: Issue[] = context.invalidUtf8 ? replacedTextFields(input).map((path) => ({ path, message: 'is not valid UTF-8' })) : [];
  for (const n of [...context.inexactNumbers ?? [], ...context.duplicateKeys ?? []]) issues.push({ path: n.path.join('.') || '(body)', message: `${n.text} ${n.reason}` });
  const parsed = (context.schema ?? CRMEvent).safeParse(input);
  if (!parsed.success) issues.push(...describeIssues(parsed.error).issues);
  // Checked even when other fields failed, so one answer names every problem.
  const timestamp = (input as { timestamp?: unknown } | null)?.timestamp;
  const instant = typeof timestamp === 'string' ? parseInstant(timestamp) : undefined;
  if (instant !== undefined && instant - context.nowMs > MAX_CLOCK_SKEW_MS) {
    issues.push({ path: 'timestamp', message: `is ${Math.round((instant - context.nowMs) / 1000)} s in the future; at most ${MAX_CLOCK_SKEW_MS / 1000} s of clock skew is accepted` });
  }
  if (issues.length || !parsed.success) return { ok: false, ...summarizeIssues(issues) };
  return { ok: true, event: parsed.data };
  // #endregion solution
}

/**
 * Paths of the strings holding U+FFFD, the character a lenient UTF-8 decoder puts where bytes were
 * invalid. Only asked when the body had invalid bytes; a correctly encoded U+FFFD in the same body
 * is blamed too (documented).
 */
export function replacedTextFields(input: unknown): string[] {
  const found: string[] = [];
  const stack: { value: unknown; path: string[] }[] = [{ value: input, path: [] }];
  while (stack.length) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\uFFFD')) found.push(path.join('.') || '(body)');
    } else if (value !== null && typeof value === 'object' && path.length <= PROPERTIES_MAX_DEPTH + 1) {
      for (const [key, child] of Object.entries(value)) {
        if (key.includes('\uFFFD')) found.push([...path, key].join('.'));
        stack.push({ value: child, path: [...path, key] });
      }
    }
  }
  return found.sort();
}
