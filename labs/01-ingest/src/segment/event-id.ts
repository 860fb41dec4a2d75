import { createHash } from 'node:crypto';

/**
 * The lab's UUIDv5 namespace for Segment messageIds (a random UUID, fixed once): anyone can
 * recompute an event_id with any UUID library, e.g. Python's `uuid.uuid5(NAMESPACE, name)`.
 */
export const SEGMENT_MESSAGE_ID_NAMESPACE = '1048b34d-99e5-452f-bd46-e47d08d16eb6';

/** RFC 9562 UUIDv5: SHA-1 of the namespace's 16 bytes and the name's UTF-8, version 5, RFC variant. */
function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The event_id of a Segment message: UUIDv5 of `<write key>:<messageId>`, always, even when the
 * messageId is itself a UUID. Deterministic, so an SDK's retry (same key, same messageId) is the
 * same event and the workers keep one copy; scoped by the write key (which cannot hold a ':', the
 * Basic-auth separator), so one source's messageIds cannot collide with, or suppress, another's.
 */
export function segmentEventId(writeKey: string, messageId: string): string {
  return uuidV5(SEGMENT_MESSAGE_ID_NAMESPACE, `${writeKey}:${messageId}`);
}
