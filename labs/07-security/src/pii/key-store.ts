/**
 * Per-user data keys (256 random bits each), stored only wrapped by the KEK (AES-256-GCM, with
 * the key id and user id as additional data, so a wrapped key cannot be moved to another user).
 * Deleting a user's rows is the erasure: every ciphertext made with those keys, wherever copies
 * of it live (topics, retry lane, DLQ, backups of the topics), can no longer be opened.
 *
 * No cache of unwrapped keys: a key erased by `npm run erase` must stop working in every running
 * API and worker at once, not when a cache entry expires. Each lookup is one indexed SQLite read
 * and one unwrap (`npm run bench:pii` measures it).
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';

export interface DataKey {
  kid: string;
  key: Buffer;
}

/** PII_KEY_DB, or .run/secrets/pii-keys.db. */
export function keyStorePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PII_KEY_DB ?? join(env.CRM_LAB_RUN_DIR ?? join(process.cwd(), '.run'), 'secrets', 'pii-keys.db');
}

const aadOf = (kid: string, userId: string) => Buffer.from(`${kid}\u0000${userId}`);

export class KeyStore {
  readonly db: Database.Database;
  private readonly latest: Database.Statement<[string], { kid: string; wrapped: Buffer }>;
  private readonly byKid: Database.Statement<[string], { user_id: string; wrapped: Buffer }>;
  private readonly insert: Database.Statement;
  private readonly createFor: (userId: string) => DataKey;

  /** `kek` may be left out by a tool that only erases (deleting needs no key). */
  constructor(file: string, private readonly kek?: Buffer) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.db = new Database(file, { timeout: 5_000 });
    this.db.pragma('journal_mode = WAL');
    // A deleted row's bytes are zeroed, not left in a free page where the KEK could still unwrap them.
    this.db.pragma('secure_delete = ON');
    this.db.exec(`CREATE TABLE IF NOT EXISTS data_keys (
      kid TEXT PRIMARY KEY, user_id TEXT NOT NULL, wrapped BLOB NOT NULL, created_at TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS data_keys_user ON data_keys (user_id, created_at)`);
    this.latest = this.db.prepare('SELECT kid, wrapped FROM data_keys WHERE user_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1');
    this.byKid = this.db.prepare('SELECT user_id, wrapped FROM data_keys WHERE kid = ?');
    this.insert = this.db.prepare('INSERT INTO data_keys (kid, user_id, wrapped, created_at) VALUES (?, ?, ?, ?)');
    const create = this.db.transaction((userId: string): DataKey => {
      const row = this.latest.get(userId);
      if (row) return { kid: row.kid, key: this.unwrap(row.kid, userId, row.wrapped) };
      const key = randomBytes(32);
      const kid = randomUUID();
      this.insert.run(kid, userId, this.wrap(kid, userId, key), new Date().toISOString());
      return { kid, key };
    });
    // IMMEDIATE: two API replicas meeting a new user at once create one key, not two.
    this.createFor = (userId) => create.immediate(userId);
  }

  /** The user's current key, created on first use (after an erase, a new one: old ciphertexts stay unreadable). */
  keyFor(userId: string): DataKey {
    const row = this.latest.get(userId);
    return row ? { kid: row.kid, key: this.unwrap(row.kid, userId, row.wrapped) } : this.createFor(userId);
  }

  /** The key `kid` of `userId`; undefined once erased. Throws for another user's key (a ciphertext moved between users). */
  keyById(kid: string, userId: string): Buffer | undefined {
    const row = this.byKid.get(kid);
    if (!row) return undefined;
    if (row.user_id !== userId) throw new Error(`key ${kid} is not ${userId}'s: the ciphertext was moved from another user's event`);
    return this.unwrap(kid, userId, row.wrapped);
  }

  /** Crypto-shredding: deletes every key of the user; returns their ids (none the second time). */
  erase(userId: string): string[] {
    // #region solution 07:crypto-shred — Crypto-shredding: delete every data key of the user, in one transaction, and return the deleted key ids
    // hint: The ciphertexts stay where they are (topics, retry lane, DLQ, backups): what makes them unreadable is that no row of `data_keys` holds their key any more. Delete by `user_id`, every key the user ever had.
    // hint: Read the ids before deleting, in the same IMMEDIATE transaction (`this.db.transaction(fn).immediate()`), so the ids you return (the audit log records them) are exactly the keys you deleted, even while an API replica creates one for the user.
    // hint: A second erase finds nothing and returns `[]`. The bytes of deleted rows are zeroed by `secure_delete` (set in the constructor); `truncateWal` then empties the WAL's older copies.
    // stub: return [];
    const kids = this.db.transaction(() => {
      const ids = (this.db.prepare('SELECT kid FROM data_keys WHERE user_id = ?').all(userId) as { kid: string }[]).map((r) => r.kid);
      this.db.prepare('DELETE FROM data_keys WHERE user_id = ?').run(userId);
      return ids;
    }).immediate();
    return kids;
    // #endregion solution
  }

  /**
   * Copies the WAL into the main file and empties it: the WAL still holds the pages as they were before
   * a delete. False while another connection (an API or worker mid-read) holds an older snapshot: try again.
   */
  truncateWal(): boolean {
    const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    return result?.busy === 0;
  }

  private requireKek(): Buffer {
    if (!this.kek) throw new Error('this key store was opened without the KEK: it can erase keys, not use them');
    return this.kek;
  }

  private wrap(kid: string, userId: string, key: Buffer): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.requireKek(), iv);
    cipher.setAAD(aadOf(kid, userId));
    const ct = Buffer.concat([cipher.update(key), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ct]);
  }

  private unwrap(kid: string, userId: string, wrapped: Buffer): Buffer {
    const decipher = createDecipheriv('aes-256-gcm', this.requireKek(), wrapped.subarray(0, 12));
    decipher.setAAD(aadOf(kid, userId));
    decipher.setAuthTag(wrapped.subarray(12, 28));
    return Buffer.concat([decipher.update(wrapped.subarray(28)), decipher.final()]);
  }

  close(): void {
    this.db.close();
  }
}
