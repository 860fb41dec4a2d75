/**
 * Keys written twice in one object. JSON.parse keeps the last value and drops the first without a
 * word: `{"user_id":"a","user_id":"b"}` was stored as user b's event with a 202. RFC 8259 §4 leaves
 * such objects' meaning to the parser, so the API refuses them (400 `validation_failed`, naming the
 * key) rather than pick a value for the client (labs/01-ingest/README.md, "Stored as sent, or refused").
 *
 * Cheap on the hot path: after the parse, the keys of the parsed value are counted and so are the
 * colons after a quote in the text; only when the text has more, or an escape (`"\u0061"` is the
 * key `a`), is it walked.
 */
import { walkJson, type JsonPath } from './json-walk.js';

export interface DuplicateKey {
  /** The object holding the key twice: keys and array indexes from the top of the body. */
  path: JsonPath;
  /** The key, as a JSON string. */
  text: string;
  reason: string;
}

/**
 * False means no object in `json` has a key twice. `value` is JSON.parse(json). Every key in the
 * text ends with a quote before its colon (`"k" :`), so when the text has no more such colons than
 * the parsed value has keys, no key was overwritten; a string holding `":` only makes it walk.
 */
export function mayHoldDuplicateKeys(json: string, value: unknown): boolean {
  if (json.includes('\\')) return true; // an escape can spell a key twice differently: "\u0061" is "a"
  let keysInText = 0;
  for (let colon = json.indexOf(':'); colon !== -1; colon = json.indexOf(':', colon + 1)) {
    let before = colon - 1;
    while (before > 0 && isJsonSpace(json.charCodeAt(before))) before--;
    if (json.charCodeAt(before) === 34 /* " */) keysInText++;
  }
  // Iterative: a body may nest deeper than the call stack.
  let keysParsed = 0;
  const pending: unknown[] = [value];
  while (pending.length) {
    const v = pending.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      for (const item of v) pending.push(item);
    } else {
      for (const key in v) {
        keysParsed++;
        pending.push((v as Record<string, unknown>)[key]);
      }
    }
  }
  return keysInText > keysParsed;
}

const isJsonSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

/** Every key written twice in one object of `json` (valid JSON), once per repeat. */
export function duplicateKeys(json: string): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  const seen = new Map<number, Set<string>>();
  walkJson(json, {
    key(key, object, objectPath) {
      let keys = seen.get(object);
      if (!keys) seen.set(object, keys = new Set());
      if (!keys.has(key)) return void keys.add(key);
      found.push({ path: objectPath(), text: JSON.stringify(key),
        reason: 'is written twice in one object: JSON.parse would keep only the last value and drop the first silently; send each key once' });
    },
  });
  return found;
}
