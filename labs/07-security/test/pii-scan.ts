/**
 * What a reader holding the KEK and the key store could still read from a set of records: every
 * sealed field found (walking the JSON value), and whether it still opens. Also a plain byte
 * search, for plaintext that should never be there at all.
 */
import type { RawRecord } from '../../04-dlq/src/raw-records.js';
import { isEnvelope, openField, parseEnvelope } from '../src/pii/envelope.js';
import type { KeyStore } from '../src/pii/key-store.js';

export interface SealedTally {
  /** Sealed fields found, per user (the record's user_id). */
  sealed: Record<string, number>;
  /** Of those, how many open with a key that still exists. */
  opened: Record<string, number>;
}

function* sealedFields(value: unknown, path: string[] = []): Generator<{ field: string; text: string }> {
  if (isEnvelope(value)) yield { field: path.join('.'), text: value };
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) yield* sealedFields(v, [...path, k]);
  }
}

export function tallySealed(records: RawRecord[], keys: KeyStore): SealedTally {
  const tally: SealedTally = { sealed: {}, opened: {} };
  for (const record of records) {
    if (!record.value) continue;
    let event: { user_id?: string };
    try {
      event = JSON.parse(record.value.toString());
    } catch {
      continue;
    }
    const user = String(event.user_id);
    for (const { field, text } of sealedFields(event)) {
      tally.sealed[user] = (tally.sealed[user] ?? 0) + 1;
      const envelope = parseEnvelope(text);
      try {
        const key = keys.keyById(envelope.kid, user);
        if (key) {
          openField(key, envelope, user, field);
          tally.opened[user] = (tally.opened[user] ?? 0) + 1;
        }
      } catch {
        // a tag that does not verify (a field moved on purpose by the test): not readable
      }
    }
  }
  return tally;
}

/** How many times each needle occurs in the records' keys, values and headers, as bytes. */
export function plaintextHits(records: RawRecord[], needles: string[]): Record<string, number> {
  const hits = Object.fromEntries(needles.map((n) => [n, 0]));
  for (const r of records) {
    const bytes = Buffer.concat([r.key ?? Buffer.alloc(0), r.value ?? Buffer.alloc(0), Buffer.from(JSON.stringify(r.headers))]);
    for (const n of needles) hits[n]! += countIn(bytes, Buffer.from(n));
  }
  return hits;
}

export function countIn(haystack: Buffer, needle: Buffer): number {
  let n = 0;
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) n++;
  return n;
}
