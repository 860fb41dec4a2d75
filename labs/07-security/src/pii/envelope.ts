/**
 * One field's ciphertext: AES-256-GCM under the user's data key, as a compact string that still
 * fits wherever the plaintext did (client_ip stays a string, so lab 02's worker reads the event):
 *
 *     pii:v1:<kid>:<iv>:<ciphertext>:<tag>      (base64url; the plaintext is the field's JSON)
 *
 * The additional authenticated data is `user_id` and the field's path: a ciphertext copied into
 * another user's event, or into another field, fails its tag check instead of decrypting there.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const ENVELOPE_PREFIX = 'pii:v1:';
const IV_BYTES = 12;

export interface Envelope {
  kid: string;
  iv: Buffer;
  ct: Buffer;
  tag: Buffer;
}

// #region solution 07:seal-pii — The additional authenticated data: what each field's tag binds its ciphertext to, besides the key
// stub: const aadOf = (_userId: string, _field: string) => Buffer.alloc(0);
const aadOf = (userId: string, field: string) => Buffer.from(`${userId}\u0000${field}`);
// #endregion solution

export function isEnvelope(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(ENVELOPE_PREFIX);
}

export function parseEnvelope(text: string): Envelope {
  const parts = text.slice(ENVELOPE_PREFIX.length).split(':');
  if (!text.startsWith(ENVELOPE_PREFIX) || parts.length !== 4) throw new Error('not a pii:v1 envelope');
  const [kid, iv, ct, tag] = parts as [string, string, string, string];
  return { kid, iv: Buffer.from(iv, 'base64url'), ct: Buffer.from(ct, 'base64url'), tag: Buffer.from(tag, 'base64url') };
}

export function sealField(key: Buffer, kid: string, userId: string, field: string, value: unknown): string {
  // #region solution 07:seal-pii — Seal one field's value: AES-256-GCM under the user's data key, a fresh IV, the AAD; return `pii:v1:<kid>:<iv>:<ct>:<tag>`
  // hint: `createCipheriv('aes-256-gcm', key, iv)` with a new random 12-byte IV for every field (GCM under one key must never see an IV twice); encrypt the value's JSON, so a number or an object comes back as itself.
  // hint: The tag covers the ciphertext and the AAD; the AAD is not stored, so the reader must rebuild the same bytes. Make `aadOf` (above) bind what a thief would change, whose event and which field, and `setAAD` it before the first `update`.
  // hint: `getAuthTag()` exists only after `final()`. Every part of the envelope is base64url (no `:` inside), after `ENVELOPE_PREFIX`; `parseEnvelope` reads it back.
  // stub: return value as string;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aadOf(userId, field));
  const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return `${ENVELOPE_PREFIX}${kid}:${iv.toString('base64url')}:${ct.toString('base64url')}:${cipher.getAuthTag().toString('base64url')}`;
  // #endregion solution
}

/** The field's value; throws when the tag does not verify (wrong key, user, field, or altered bytes). */
export function openField(key: Buffer, envelope: Envelope, userId: string, field: string): unknown {
  // #region solution 07:seal-pii — Open one field: the same key, IV and AAD, the tag checked; throw when it does not verify
  // hint: The mirror of `sealField` with `createDecipheriv`: give it the AAD of the user and field you expect and the envelope's tag (`setAuthTag`) before `final`, which throws when they do not match.
  const decipher = createDecipheriv('aes-256-gcm', key, envelope.iv);
  decipher.setAAD(aadOf(userId, field));
  decipher.setAuthTag(envelope.tag);
  return JSON.parse(Buffer.concat([decipher.update(envelope.ct), decipher.final()]).toString('utf8'));
  // #endregion solution
}
