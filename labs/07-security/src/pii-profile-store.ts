/**
 * Lab 02's profile store plus each user's contact details, in plaintext: the worker opens the PII
 * before applying (the profile store is where the CRM reads a user's email; it is deleted row by
 * row on erase, unlike the topics). Kept apart from `profiles` so the aggregates stay PII-free.
 *
 * `shredded_keys` closes a race with erase: a worker that opened an event's PII just before its key
 * was deleted must not write it back after erase deleted the row. Erase records the key ids in the
 * same transaction that deletes the rows; a contact write made with one of them changes nothing.
 */
import type { Statement } from 'better-sqlite3';
import { ProfileStore, type ApplyResult, type PositionedEvent, type ProfileStoreOptions } from '../../02-consumer-groups/src/profile-store.js';

/** The PII fields a profile keeps, and where in the event each comes from. */
const CONTACT_FIELDS = { email: 'email', phone: 'phone', name: 'name' } as const;

export interface Contact {
  user_id: string;
  email: string | null;
  phone: string | null;
  name: string | null;
  client_ip: string | null;
}

/** An event whose PII was opened with key `kid` (undefined: it carried none, or its key is erased). */
export interface OpenedEvent extends PositionedEvent {
  kid?: string;
}

export class PiiProfileStore extends ProfileStore {
  private readonly upsertContact: Statement;

  constructor(file: string, opts: ProfileStoreOptions = {}) {
    super(file, opts);
    this.db.pragma('secure_delete = ON'); // an erased contact's bytes are zeroed, not left in a free page
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS contacts (
        user_id TEXT PRIMARY KEY, email TEXT, phone TEXT, name TEXT, client_ip TEXT, updated_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS shredded_keys (kid TEXT PRIMARY KEY, user_id TEXT NOT NULL, erased_at TEXT NOT NULL);`);
    // The latest event's value wins for each field it carries; a field it lacks keeps its old value.
    this.upsertContact = this.db.prepare(`
      INSERT INTO contacts (user_id, email, phone, name, client_ip, updated_at)
      SELECT @user_id, @email, @phone, @name, @client_ip, @now WHERE NOT EXISTS (SELECT 1 FROM shredded_keys WHERE kid = @kid)
      ON CONFLICT (user_id) DO UPDATE SET
        email = coalesce(excluded.email, email), phone = coalesce(excluded.phone, phone),
        name = coalesce(excluded.name, name), client_ip = coalesce(excluded.client_ip, client_ip), updated_at = excluded.updated_at`);
  }

  protected override write(item: PositionedEvent, workerId: string): ApplyResult {
    const result = super.write(item, workerId);
    const { kid } = item as OpenedEvent;
    if (result !== 'applied' || kid === undefined) return result;
    const { event } = item;
    const text = (v: unknown) => (v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v));
    const props = event.properties ?? {};
    this.upsertContact.run({
      user_id: event.user_id, kid, now: new Date().toISOString(), client_ip: event.client_ip,
      ...Object.fromEntries(Object.entries(CONTACT_FIELDS).map(([column, prop]) => [column, text(props[prop])])),
    });
    return result;
  }

  contact(userId: string): Contact | undefined {
    return this.db.prepare('SELECT user_id, email, phone, name, client_ip FROM contacts WHERE user_id = ?').get(userId) as Contact | undefined;
  }

  /**
   * Erase's part: the user's profile and contact rows go, and the erased key ids are recorded so a
   * late write made with them is refused. The dedupe record (event_id, user_id, position) stays:
   * without it a redelivered event would be applied again and bring the profile back.
   */
  eraseUser(userId: string, kids: string[]): { profiles: number; contacts: number } {
    const deleted = this.db.transaction(() => {
      const record = this.db.prepare('INSERT OR IGNORE INTO shredded_keys (kid, user_id, erased_at) VALUES (?, ?, ?)');
      for (const kid of kids) record.run(kid, userId, new Date().toISOString());
      return {
        profiles: this.db.prepare('DELETE FROM profiles WHERE user_id = ?').run(userId).changes,
        contacts: this.db.prepare('DELETE FROM contacts WHERE user_id = ?').run(userId).changes,
      };
    }).immediate();
    return deleted;
  }

  /**
   * Copies the WAL into the main file and empties it, so the WAL's older copies of the deleted rows'
   * pages go too. False while another connection (a worker mid-read) holds an older snapshot: try again.
   */
  truncateWal(): boolean {
    const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    return result?.busy === 0;
  }
}
