import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { enrichedEvent } from '../../02-consumer-groups/test/events.js';
import { openField, parseEnvelope } from '../src/pii/envelope.js';
import { loadOrCreateKek } from '../src/pii/kek.js';
import { KeyStore } from '../src/pii/key-store.js';
import { decryptEvent, encryptEvent, ERASED_IP, PiiEventCodec } from '../src/pii/pii-codec.js';
import { DEFAULT_PII_FIELDS } from '../src/pii/pii-fields.js';
import { EnrichedEvent } from '../../../shared/schema.js';

const fields = DEFAULT_PII_FIELDS;
const stores: KeyStore[] = [];
function freshKeys(): { keys: KeyStore; dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pii-test-'));
  const file = join(dir, 'keys.db');
  const keys = new KeyStore(file, loadOrCreateKek(join(dir, 'secrets', 'kek')));
  stores.push(keys);
  return { keys, dir, file };
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

const withPii = (user: string) => ({ ...enrichedEvent(user, 'signup', { email: `${user}@example.com`, phone: '+33 6 12 34 56 78', plan: 'pro' }), client_ip: '203.0.113.7' });

describe('PII codec', () => {
  it('seals each PII field under the user\'s key and leaves the rest readable; the worker\'s side opens them again', async () => {
    const { keys } = freshKeys();
    const event = withPii('alice');
    const value = (await new PiiEventCodec(keys, fields).encode(event)).toString();
    expect(value).not.toContain('alice@example.com');
    expect(value).not.toContain('203.0.113.7');
    expect(value).not.toContain('12 34 56');
    const sealed = JSON.parse(value);
    expect(sealed.properties.plan).toBe('pro');
    expect(sealed.user_id).toBe('alice');
    expect(sealed.client_ip).toMatch(/^pii:v1:/);
    expect(decryptEvent(sealed, keys, fields)).toEqual({ event, kid: keys.keyFor('alice').kid, erased: [] });
  });

  it('seals the context of a message sent through the Segment endpoints whole; the sealed event still parses as an EnrichedEvent, and opens again', async () => {
    const { keys } = freshKeys();
    const event = { ...withPii('carol'), segment: {
      message: { type: 'track', messageId: 'm-1', context: { ip: '198.51.100.9', userAgent: 'Mozilla/5.0', traits: { email: 'carol@example.com' } } },
      receivedAt: '2026-12-07T06:00:00.000Z',
    } };
    const value = (await new PiiEventCodec(keys, fields).encode(event)).toString();
    expect(value).not.toContain('198.51.100.9');
    expect(value).not.toContain('carol@example.com');
    const sealed = JSON.parse(value);
    expect(sealed.segment.message.messageId).toBe('m-1');
    expect(sealed.segment.message.context).toMatch(/^pii:v1:/);
    expect(EnrichedEvent.safeParse(sealed).success).toBe(true);
    expect(decryptEvent(sealed, keys, fields).event).toEqual(event);
  });

  it('an event without PII creates no key', () => {
    const { keys } = freshKeys();
    const event = enrichedEvent('bob', 'page_view', { path: '/' });
    const { client_ip: _ip, ...noIp } = event;
    expect(encryptEvent(noIp as typeof event, keys, fields)).toEqual(noIp);
    expect(keys.db.prepare('SELECT count(*) AS n FROM data_keys').get()).toEqual({ n: 0 });
  });

  it('a ciphertext moved to another field or another user\'s event does not open', () => {
    const { keys } = freshKeys();
    const alice = encryptEvent(withPii('alice'), keys, fields);
    const bob = encryptEvent(withPii('bob'), keys, fields);
    // Same user, other field: the tag covers the field's path.
    const moved = { ...alice, properties: { ...alice.properties, phone: alice.properties.email } };
    expect(() => decryptEvent(moved, keys, fields)).toThrow(/authenticate/);
    const envelope = parseEnvelope(alice.properties.email as string);
    expect(() => openField(keys.keyById(envelope.kid, 'alice')!, envelope, 'alice', 'properties.phone')).toThrow();
    // Other user: alice's key is not bob's.
    const stolen = { ...bob, properties: { ...bob.properties, email: alice.properties.email } };
    expect(() => decryptEvent(stolen, keys, fields)).toThrow(/not bob's/);
  });

  it('after erase, the user\'s events open without their PII (client_ip "erased"), and other users\' still open', () => {
    const { keys } = freshKeys();
    const alice = encryptEvent(withPii('alice'), keys, fields);
    const bob = encryptEvent(withPii('bob'), keys, fields);
    expect(keys.erase('alice')).toHaveLength(1);
    const opened = decryptEvent(alice, keys, fields);
    expect(opened.erased).toEqual(['client_ip', 'properties.email', 'properties.phone']);
    expect(opened.event.client_ip).toBe(ERASED_IP);
    expect(opened.event.properties).toEqual({ plan: 'pro' });
    expect(opened.kid).toBeUndefined();
    expect(decryptEvent(bob, keys, fields).event.properties.email).toBe('bob@example.com');
    expect(keys.erase('alice')).toEqual([]); // idempotent
    // A returning user gets a new key; the old ciphertexts stay unreadable.
    expect(keys.keyFor('alice').kid).not.toBe(parseEnvelope(alice.client_ip).kid);
    expect(decryptEvent(alice, keys, fields).erased).toHaveLength(3);
  });

  it('the key store holds data keys only wrapped, and an erased key\'s wrapped bytes are gone from its files', () => {
    const { keys, file } = freshKeys();
    const { key } = keys.keyFor('alice');
    keys.keyFor('bob');
    const wrapped = (keys.db.prepare('SELECT wrapped FROM data_keys WHERE user_id = ?').get('alice') as { wrapped: Buffer }).wrapped;
    keys.db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = () => Buffer.concat([readFileSync(file), ...[`${file}-wal`].map((f) => { try { return readFileSync(f); } catch { return Buffer.alloc(0); } })]);
    expect(bytes().includes(key)).toBe(false);
    expect(bytes().includes(wrapped)).toBe(true);
    keys.erase('alice');
    expect(keys.truncateWal()).toBe(true);
    expect(bytes().includes(wrapped)).toBe(false);
  });

  it('the KEK file is created with mode 0600, reused, and refused once others can read it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kek-test-'));
    const file = join(dir, 'secrets', 'kek');
    const kek = loadOrCreateKek(file);
    expect(kek).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateKek(file).equals(kek)).toBe(true);
    chmodSync(file, 0o644);
    expect(() => loadOrCreateKek(file)).toThrow(/mode 644.*chmod 600/);
    writeFileSync(join(dir, 'short'), 'abcd\n', { mode: 0o600 });
    expect(() => loadOrCreateKek(join(dir, 'short'))).toThrow(/32-byte/);
  });
});
