/**
 * Numbers the API would not store as sent. JSON.parse makes every JSON number an IEEE 754 double,
 * and JSON.stringify writes that double back to Kafka: `9007199254740993` was stored as
 * `9007199254740992`, `1e400` as `null`, `1e-400` as `0`, each with a 202. Such numbers are refused
 * (400 `validation_failed`, naming the field), never rounded (labs/01-ingest/README.md, "Numbers"):
 * - an integer written without fraction or exponent must be a safe integer, |n| ≤ 2^53 − 1
 *   (I-JSON, RFC 7493 §2.2): past it some integers survive and their neighbours do not, so a client
 *   counting upwards would be refused at random; send such ids as strings;
 * - any other number must be held exactly by the double: the value JSON.stringify writes back is the
 *   decimal value written (`1.50` and `15e-1` are stored as `1.5`: the same number, respelt).
 *
 * Most bodies have no number that could fail, and pay one regular-expression test
 * (`mayHoldInexactNumbers`); only a body with a 16-digit number or an exponent is walked.
 */
import { walkJson, type JsonPath } from './json-walk.js';

/** A number token after `:`, `,` or `[` with an exponent, or with 16 digits or more: the only ones that can fail. */
const MAYBE_INEXACT = /[:,[]\s*-?(?:\d+(?:\.\d+)?[eE]|(?:\d\.?){16})/;

export interface InexactNumber {
  /** Where it is: object keys and array indexes from the top of the body. */
  path: JsonPath;
  /** The number as the client wrote it. */
  text: string;
  /** Why it is refused. */
  reason: string;
}

/** Cheap pre-test on the raw JSON text: false means every number in it is stored as sent. */
export const mayHoldInexactNumbers = (json: string): boolean => MAYBE_INEXACT.test(json);

/** `-1.50e2` → `-15e1`: sign, significant digits without leading or trailing zeros, exponent. */
function decimalValue(text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return `NaN:${text}`;
  const fraction = m[3] ?? '';
  const all = (m[2]! + fraction).replace(/^0+/, '');
  if (!all) return '0'; // -0 and 0.000 are 0
  const digits = all.replace(/0+$/, '');
  return `${m[1]}${digits}e${Number(m[4] ?? 0) - fraction.length + (all.length - digits.length)}`;
}

/** Why a JSON number token would not be stored as written, or undefined when it would. */
export function whyInexact(token: string): string | undefined {
  const value = Number(token);
  if (!Number.isFinite(value)) return 'is out of the range of a double (it would be stored as null)';
  if (!/[.eE]/.test(token)) {
    return Number.isSafeInteger(value) ? undefined
      : `is an integer beyond ±(2^53 − 1), which a JSON number parsed as a double cannot hold exactly (it would be stored as ${JSON.stringify(value)}); send it as a string`;
  }
  return decimalValue(String(value)) === decimalValue(token) ? undefined
    : `cannot be held exactly by a double (it would be stored as ${JSON.stringify(value)}); send fewer digits, or a string`;
}

/**
 * Every number in `json` (valid JSON: call it after JSON.parse succeeded) that would not be stored
 * as written, with its path. One pass over the text (json-walk.ts).
 */
export function inexactNumbers(json: string): InexactNumber[] {
  const found: InexactNumber[] = [];
  walkJson(json, {
    number(token, path) {
      const reason = whyInexact(token);
      if (reason) found.push({ path: path(), text: token, reason });
    },
  });
  return found;
}
