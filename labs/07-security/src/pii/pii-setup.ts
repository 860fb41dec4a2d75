/** Lab 07's PII pieces from the environment (PII_KEY_DB, PII_KEK_FILE, PII_FIELDS), for the API and tools. */
import { KeyStore, keyStorePath } from './key-store.js';
import { kekPath, loadOrCreateKek } from './kek.js';
import { PiiEventCodec } from './pii-codec.js';
import { piiFieldsFrom } from './pii-fields.js';

export function piiCodecFromEnv(env: NodeJS.ProcessEnv = process.env): { codec: PiiEventCodec; keys: KeyStore; fields: string[] } {
  const keys = new KeyStore(keyStorePath(env), loadOrCreateKek(kekPath(env)));
  const fields = piiFieldsFrom(env);
  return { codec: new PiiEventCodec(keys, fields), keys, fields };
}
