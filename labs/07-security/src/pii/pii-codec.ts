/**
 * Lab 07's EventCodec: the PII fields of each event are sealed under its user's data key before
 * the event is written (as JSON) to Kafka; everything else stays readable, so counting events per
 * user or per type needs no key. `decryptEvent` is the worker's side.
 */
import { CRMEvent, type EnrichedEvent } from '../../../../shared/schema.js';
import type { EventCodec } from '../../../01-ingest/src/event-codec.js';
import { isEnvelope, openField, parseEnvelope, sealField } from './envelope.js';
import type { KeyStore } from './key-store.js';
import { deleteField, getField, setField } from './pii-fields.js';

/** client_ip must stay a string (EnrichedEvent): what it becomes once its key is gone. */
export const ERASED_IP = 'erased';

type Bag = Record<string, unknown>;

export function encryptEvent(event: EnrichedEvent, keys: KeyStore, fields: readonly string[]): EnrichedEvent {
  const sealed = structuredClone(event) as unknown as Bag;
  let key: ReturnType<KeyStore['keyFor']> | undefined;
  for (const field of fields) {
    const value = getField(sealed, field);
    if (value === undefined) continue;
    key ??= keys.keyFor(event.user_id); // an event without PII creates no key
    setField(sealed, field, sealField(key.key, key.kid, event.user_id, field, value));
  }
  return sealed as unknown as EnrichedEvent;
}

export interface Decrypted {
  event: EnrichedEvent;
  /** The key the PII was opened with (undefined: the event had none). */
  kid?: string;
  /** Fields whose key was erased: dropped from the event (client_ip set to {@link ERASED_IP}). */
  erased: string[];
}

/**
 * Opens every sealed field. A field whose key no longer exists is dropped: the event is still
 * applied, without its PII. A field whose tag does not verify (altered, or moved from another
 * user or field) throws: that is not an erasure but a bad record, for the retry lane and the DLQ.
 */
export function decryptEvent(event: EnrichedEvent, keys: KeyStore, fields: readonly string[]): Decrypted {
  const open = structuredClone(event) as unknown as Bag;
  const erased: string[] = [];
  let kid: string | undefined;
  const keyOf = new Map<string, Buffer | undefined>(); // one lookup per key id, not per field
  for (const field of fields) {
    const value = getField(open, field);
    if (!isEnvelope(value)) continue;
    const envelope = parseEnvelope(value);
    if (!keyOf.has(envelope.kid)) keyOf.set(envelope.kid, keys.keyById(envelope.kid, event.user_id));
    const key = keyOf.get(envelope.kid);
    if (!key) {
      erased.push(field);
      if (field === 'client_ip') setField(open, field, ERASED_IP);
      else deleteField(open, field);
      continue;
    }
    setField(open, field, openField(key, envelope, event.user_id, field));
    kid = envelope.kid;
  }
  return { event: open as unknown as EnrichedEvent, kid, erased };
}

export class PiiEventCodec implements EventCodec {
  readonly bodySchema = CRMEvent;
  /** Each event is sealed on its own, with nothing to wait for: POST /batch can use this codec. */
  readonly batchable = true;

  constructor(private readonly keys: KeyStore, private readonly fields: readonly string[]) {}

  async encode(event: EnrichedEvent): Promise<Buffer> {
    return Buffer.from(JSON.stringify(encryptEvent(event, this.keys, this.fields)));
  }
}
