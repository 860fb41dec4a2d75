/**
 * Write keys, as Segment and PostHog issue them: a customer's random token that its SDKs send with
 * every event. Only the key's SHA-256 is stored (SQLite, WRITE_KEYS_DB), so a copy of the store
 * does not let anyone send as the customer; the key itself is shown once, at creation.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';

export const WRITE_KEY_PREFIX = 'crm_wk_';
const CUSTOMER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface WriteKeyInfo {
  key_id: string;
  customer_id: string;
  created_at: string;
  revoked_at: string | null;
}

/** WRITE_KEYS_DB, or .run/write-keys.db beside the running stack's data. */
export function writeKeysDbPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.WRITE_KEYS_DB ?? join(env.CRM_LAB_RUN_DIR ?? join(process.cwd(), '.run'), 'write-keys.db');
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export class WriteKeyStore {
  private readonly db: Database.Database;
  private readonly byHash: Database.Statement<[string], { customer_id: string }>;

  constructor(readonly file = writeKeysDbPath()) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    // Several replicas open the file at once; WAL lets them read while the CLI writes.
    this.db.pragma('busy_timeout = 2000');
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS write_keys (
      key_id TEXT PRIMARY KEY,
      customer_id TEXT NOT NULL,
      key_sha256 TEXT NOT NULL UNIQUE,
      created_at TEXT NOT NULL,
      revoked_at TEXT
    )`);
    this.byHash = this.db.prepare('SELECT customer_id FROM write_keys WHERE key_sha256 = ? AND revoked_at IS NULL');
  }

  /** A new key for the customer: the only time the key itself exists outside the client. */
  create(customerId: string): { keyId: string; writeKey: string } {
    if (!CUSTOMER_ID.test(customerId)) {
      throw new Error(`customer id "${customerId}": use 1–64 letters, digits, '_', '.' or '-', starting with a letter or digit`);
    }
    const writeKey = `${WRITE_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const keyId = `wk_${randomBytes(6).toString('hex')}`;
    this.db.prepare('INSERT INTO write_keys (key_id, customer_id, key_sha256, created_at) VALUES (?, ?, ?, ?)')
      .run(keyId, customerId, sha256(writeKey), new Date().toISOString());
    return { keyId, writeKey };
  }

  /**
   * The customer of a live key, else undefined. Read from the file on every call (no cache): a key
   * revoked by the CLI stops working on every replica at its next request.
   */
  customerOf(writeKey: string): string | undefined {
    // #region solution 07:write-key-check — The customer of a live write key, found by the key's hash (the store has no keys), else undefined
    // hint: `create` stores `sha256(writeKey)` in `key_sha256`, never the key: look the key up by the same hash. `this.byHash` is that query, already prepared, and it skips revoked keys.
    // hint: Ask the file on every call (no cache in this class): a key the CLI revokes must fail on every replica from its next request.
    // hint: A string that does not start with `WRITE_KEY_PREFIX` is no key of ours: answer undefined without hashing it.
    // stub: return undefined;
    if (!writeKey.startsWith(WRITE_KEY_PREFIX)) return undefined;
    return this.byHash.get(sha256(writeKey))?.customer_id;
    // #endregion solution
  }

  /** Marks the key revoked; false when there is no such live key. */
  revoke(keyId: string): boolean {
    const result = this.db.prepare('UPDATE write_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL').run(new Date().toISOString(), keyId);
    return result.changes === 1;
  }

  /** Every key's id, customer and dates: never the key, nor its hash. */
  list(): WriteKeyInfo[] {
    return this.db.prepare('SELECT key_id, customer_id, created_at, revoked_at FROM write_keys ORDER BY created_at, key_id').all() as WriteKeyInfo[];
  }

  close(): void {
    this.db.close();
  }
}
