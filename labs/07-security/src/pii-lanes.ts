/**
 * Lab 04's lanes (retry topic, DLQ) with a decode step that opens the event's PII with the key
 * store. An event whose key was erased is applied without its PII (counted in `erasedFields`),
 * never retried: retrying cannot bring a deleted key back, and the DLQ would hold it forever.
 */
import type { Lane } from '../../02-consumer-groups/src/worker.js';
import { decodeEvent } from '../../02-consumer-groups/src/worker.js';
import type { KeyStore } from './pii/key-store.js';
import { decryptEvent } from './pii/pii-codec.js';
import type { OpenedEvent } from './pii-profile-store.js';

export function piiDecode(keys: KeyStore, fields: readonly string[], onErased?: (fields: string[]) => void): NonNullable<Lane['decode']> {
  return (message, position): OpenedEvent => {
    const item = decodeEvent(message, position);
    const { event, kid, erased } = decryptEvent(item.event, keys, fields);
    if (erased.length > 0) onErased?.(erased);
    return { event, position: item.position, kid };
  };
}
