import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { enrichedEvent } from '../../02-consumer-groups/test/events.js';
import { PiiProfileStore } from '../src/pii-profile-store.js';

const freshStore = () => new PiiProfileStore(join(mkdtempSync(join(tmpdir(), 'pii-store-')), 'profiles.db'));
let offset = 0;
const opened = (user: string, kid: string | undefined, email?: string) => ({
  event: { ...enrichedEvent(user, 'page_view', email ? { email } : {}), client_ip: kid ? '203.0.113.9' : 'erased' },
  position: { topic: 't', partition: 0, offset: offset++ },
  kid,
});

describe('PiiProfileStore', () => {
  it('keeps the latest value of each contact field, and no contact for an event applied without PII', () => {
    const store = freshStore();
    store.applyBatch([opened('alice', 'k1', 'old@example.com'), opened('alice', 'k1', 'new@example.com'), opened('alice', 'k1')], 'w');
    expect(store.contact('alice')).toEqual({ user_id: 'alice', email: 'new@example.com', phone: null, name: null, client_ip: '203.0.113.9' });
    store.applyBatch([opened('bob', undefined)], 'w');
    expect(store.contact('bob')).toBeUndefined();
    expect(store.profile('bob')).toMatchObject({ event_count: 1 });
    store.close();
  });

  it('a worker that opened the PII just before the erase cannot write it back after it: the erased key\'s writes change no contact', () => {
    const store = freshStore();
    store.applyBatch([opened('alice', 'k1', 'alice@example.com')], 'w');
    const inFlight = opened('alice', 'k1', 'alice@example.com'); // opened with k1 before the erase deleted it
    expect(store.eraseUser('alice', ['k1'])).toEqual({ profiles: 1, contacts: 1 });
    expect(store.applyBatch([inFlight], 'w').results).toEqual(['applied']);
    expect(store.contact('alice')).toBeUndefined();
    expect(store.profile('alice')).toMatchObject({ event_count: 1 }); // counted, without PII
    // A returning user's new key is not shredded: their new contact is kept.
    store.applyBatch([opened('alice', 'k2', 'again@example.com')], 'w');
    expect(store.contact('alice')?.email).toBe('again@example.com');
    expect(store.eraseUser('alice', ['k2'])).toEqual({ profiles: 1, contacts: 1 });
    expect(store.eraseUser('alice', [])).toEqual({ profiles: 0, contacts: 0 }); // idempotent
    store.close();
  });
});
