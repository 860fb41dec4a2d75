import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { EnrichedEvent } from '../../../shared/schema.js';
import { ProfileStore } from '../src/profile-store.js';
import { enrichedEvent } from './events.js';

const stores: ProfileStore[] = [];
const open = (file = join(mkdtempSync(join(tmpdir(), 'lab02-store-')), 'profiles.db')) => {
  const store = new ProfileStore(file);
  stores.push(store);
  return store;
};
afterEach(() => {
  while (stores.length) stores.pop()!.close();
});

const at = (user: string, timestamp: string): EnrichedEvent => ({ ...enrichedEvent(user, 'page_view'), timestamp });
const position = (offset: number) => ({ topic: 't', partition: 0, offset });

describe('the profile store', () => {
  it('keeps the latest instant as last_seen, whatever UTC offset each event was written with', () => {
    const store = open();
    // 10:00+02:00 is 08:00Z: earlier than 09:30Z, though it sorts after it as text.
    store.apply(at('ahead', '2026-01-01T10:00:00+02:00'), position(0), 'w');
    store.apply(at('ahead', '2026-01-01T09:30:00Z'), position(1), 'w');
    store.apply(at('behind', '2026-01-01T09:30:00Z'), position(2), 'w');
    store.apply(at('behind', '2026-01-01T10:00:00+02:00'), position(3), 'w');
    expect(store.profile('ahead')?.last_seen).toBe('2026-01-01T09:30:00.000Z');
    expect(store.profile('behind')?.last_seen).toBe('2026-01-01T09:30:00.000Z');
  });

  it('opens a store written before last_seen was normalised, and rewrites its values as UTC instants', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'lab02-store-old-')), 'profiles.db');
    const old = new Database(file);
    // The schema and a row as the previous version wrote them (last_seen verbatim from the event).
    old.exec(`CREATE TABLE profiles (user_id TEXT PRIMARY KEY, last_seen TEXT NOT NULL,
      login_count INTEGER NOT NULL DEFAULT 0, event_count INTEGER NOT NULL DEFAULT 0);
      INSERT INTO profiles VALUES ('old_user', '2026-01-01T10:00:00+02:00', 1, 3);`);
    old.close();
    const store = open(file);
    expect(store.profile('old_user')).toEqual({ user_id: 'old_user', last_seen: '2026-01-01T08:00:00.000Z', login_count: 1, event_count: 3 });
    store.apply(at('old_user', '2026-01-01T09:30:00Z'), position(0), 'w');
    expect(store.profile('old_user')).toMatchObject({ last_seen: '2026-01-01T09:30:00.000Z', event_count: 4 });
  });

  it('syncs every transaction to disk before it returns (synchronous=FULL), so a committed offset never outlives its effect', () => {
    expect(open().db.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('applies a batch in one transaction, dedupes within it, and stops at a failing event, keeping the ones before it', () => {
    const store = open();
    const first = enrichedEvent('batch_user', 'login');
    const bad = { ...enrichedEvent('batch_user', 'login'), timestamp: 'not a time' };
    const after = enrichedEvent('batch_user', 'login');
    const outcome = store.applyBatch([
      { event: first, position: position(0) },
      { event: first, position: position(1) },
      { event: bad, position: position(2) },
      { event: after, position: position(3) },
    ], 'w');
    expect(outcome.results).toEqual(['applied', 'duplicate']);
    expect(outcome.failure?.index).toBe(2);
    expect(String(outcome.failure?.error)).toContain('not a time');
    // Nothing of the failing event was written; the ones before it were.
    expect(store.processed().map((p) => p.offset)).toEqual([0]);
    expect(store.profile('batch_user')).toMatchObject({ login_count: 1, event_count: 1 });
    expect(store.applyBatch([{ event: after, position: position(3) }], 'w')).toEqual({ results: ['applied'] });
    expect(store.profile('batch_user')).toMatchObject({ login_count: 2, event_count: 2 });
  });
});
