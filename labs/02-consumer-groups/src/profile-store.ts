import Database from 'better-sqlite3';
import type { EnrichedEvent } from '../../../shared/schema.js';

export interface EventPosition {
  topic: string;
  partition: number;
  offset: number;
}

export type ApplyResult = 'applied' | 'duplicate';

export interface Profile {
  user_id: string;
  /** The latest instant the user was seen, as UTC ISO 8601 with milliseconds (`…T08:00:00.000Z`). */
  last_seen: string;
  login_count: number;
  event_count: number;
}

/** One event and where it was read, for {@link ProfileStore.applyBatch}. */
export interface PositionedEvent {
  event: EnrichedEvent;
  position: EventPosition;
}

/** What a batch did: one result per event applied, in order, up to the first that failed (if any). */
export interface BatchOutcome {
  results: ApplyResult[];
  failure?: { index: number; error: unknown };
}

export interface ProfileStoreOptions {
  /** Record event_ids (exactly-once); false only to measure what that costs. */
  dedupe?: boolean;
  /** How long a write waits for a lock held elsewhere before failing. */
  busyTimeoutMs?: number;
  /**
   * FULL (default): each transaction is on disk before it returns, so an offset committed after
   * it can never outlive its effect. NORMAL only to measure what that costs (`npm run bench:dedupe`).
   */
  synchronous?: 'FULL' | 'NORMAL';
}

/**
 * Schema versions (SQLite's `user_version`). 1: `last_seen` holds UTC ISO instants; the rows an
 * older version wrote verbatim (`10:00+02:00`) are rewritten when the file is first opened.
 */
const SCHEMA_VERSION = 1;

const CANONICAL_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A timestamp as a UTC ISO string of fixed width, so that text order is time order. */
export function utcInstant(timestamp: string): string {
  // Already in that form (the API's server_timestamp always is): a per-event Date round trip saved.
  if (CANONICAL_UTC.test(timestamp)) return timestamp;
  const ms = Date.parse(timestamp);
  if (Number.isNaN(ms)) throw new RangeError(`not a time: ${timestamp}`);
  return new Date(ms).toISOString();
}

/**
 * The user profile store, a SQLite file shared by every worker.
 *
 * Exactly-once effect: the event_id is recorded in `processed_events` in the same transaction
 * as the profile update, so an event redelivered after a crash (processed, offset not yet
 * committed) finds its id and changes nothing. `last_seen` is idempotent on its own (a max of
 * UTC instants); `login_count` is not, which is why the dedupe record is needed. Transactions are
 * synced to disk (synchronous=FULL) before the worker commits the offsets they cover.
 */
export class ProfileStore {
  readonly db: Database.Database;
  private readonly insertProcessed: Database.Statement;
  private readonly upsertProfile: Database.Statement;
  private readonly countDuplicate: Database.Statement;
  private readonly applyOne: (item: PositionedEvent, workerId: string) => ApplyResult;
  private readonly applyRun: Database.Transaction<(items: PositionedEvent[], workerId: string) => BatchOutcome>;
  private readonly dedupe: boolean;

  constructor(file: string, opts: ProfileStoreOptions = {}) {
    this.db = new Database(file, { timeout: opts.busyTimeoutMs ?? 10_000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
    this.migrate();
    this.dedupe = opts.dedupe ?? true;
    this.insertProcessed = this.db.prepare(`
      INSERT OR IGNORE INTO processed_events (event_id, user_id, topic, partition, "offset", worker_id, processed_at)
      VALUES (@event_id, @user_id, @topic, @partition, @offset, @worker_id, @processed_at)`);
    this.upsertProfile = this.db.prepare(`
      INSERT INTO profiles (user_id, last_seen, login_count, event_count)
      VALUES (@user_id, @seen, @login, 1)
      ON CONFLICT (user_id) DO UPDATE SET
        last_seen = max(last_seen, excluded.last_seen),
        login_count = login_count + excluded.login_count,
        event_count = event_count + 1`);
    this.countDuplicate = this.db.prepare('INSERT INTO duplicate_deliveries (event_id, worker_id) VALUES (?, ?)');
    // Nested in applyRun, a better-sqlite3 transaction is a savepoint: a failing event undoes only itself.
    this.applyOne = this.db.transaction((item: PositionedEvent, workerId: string) => this.write(item, workerId));
    this.applyRun = this.db.transaction((items: PositionedEvent[], workerId: string): BatchOutcome => {
      const results: ApplyResult[] = [];
      for (const [index, item] of items.entries()) {
        try {
          results.push(this.applyOne(item, workerId));
        } catch (error) {
          return { results, failure: { index, error } };
        }
      }
      return { results };
    });
  }

  private migrate(): void {
    this.db.transaction(() => {
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS profiles (
          user_id TEXT PRIMARY KEY,
          last_seen TEXT NOT NULL,
          login_count INTEGER NOT NULL DEFAULT 0,
          event_count INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS processed_events (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          event_id TEXT NOT NULL UNIQUE,
          user_id TEXT NOT NULL,
          topic TEXT NOT NULL,
          partition INTEGER NOT NULL,
          "offset" INTEGER NOT NULL,
          worker_id TEXT NOT NULL,
          processed_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS duplicate_deliveries (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          event_id TEXT NOT NULL,
          worker_id TEXT NOT NULL
        );
      `);
      if ((this.db.pragma('user_version', { simple: true }) as number) < 1) {
        // SQLite reads ISO 8601 with an offset and writes it back in UTC; a value it cannot read stays as it was.
        this.db.exec(`UPDATE profiles SET last_seen = coalesce(strftime('%Y-%m-%dT%H:%M:%fZ', last_seen), last_seen)`);
      }
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate(); // one worker migrates; the others wait for the lock, then find version 1
  }

  /** One event's effect, inside its own savepoint; lab 05's DeviceProfileStore adds to it. */
  protected write({ event, position }: PositionedEvent, workerId: string): ApplyResult {
    // #region solution 02:apply-exactly-once — Apply one event to its user's profile exactly once: record its event_id in the same transaction, skip a redelivery
    // hint: You are inside a transaction (a savepoint of applyBatch's): everything written here commits together, or not at all.
    // hint: `this.insertProcessed.run({...})` is INSERT OR IGNORE on the unique event_id: `.changes === 0` means the event was applied before. Count it (`this.countDuplicate`) and return 'duplicate' without touching the profile.
    // hint: Otherwise `this.upsertProfile.run({ user_id, seen, login })`: `seen` is `utcInstant(event.timestamp ?? event.server_timestamp)`, `login` 1 for a 'login' event. Respect `this.dedupe` (false only to measure its cost).
    const seen = utcInstant(event.timestamp ?? event.server_timestamp);
    if (this.dedupe) {
      const recorded = this.insertProcessed.run({
        event_id: event.event_id,
        user_id: event.user_id,
        ...position,
        worker_id: workerId,
        processed_at: new Date().toISOString(),
      });
      if (recorded.changes === 0) {
        this.countDuplicate.run(event.event_id, workerId);
        return 'duplicate';
      }
    }
    this.upsertProfile.run({ user_id: event.user_id, seen, login: event.event_type === 'login' ? 1 : 0 });
    return 'applied';
    // #endregion solution
  }

  /** Applies one event to its user's profile, once: a redelivered event_id returns 'duplicate'. */
  apply(event: EnrichedEvent, position: EventPosition, workerId: string): ApplyResult {
    return this.applyOne({ event, position }, workerId);
  }

  /**
   * Applies events in order in ONE transaction (one sync to disk for all of them). An event that
   * fails is undone alone and ends the run: the ones before it are committed, it and the ones after
   * it are not, and the caller decides what becomes of it. Throws only when the transaction
   * itself cannot start (the store locked for longer than the busy timeout).
   */
  applyBatch(items: PositionedEvent[], workerId: string): BatchOutcome {
    // IMMEDIATE: the write lock is taken (or waited for) at BEGIN, not halfway through the run.
    return this.applyRun.immediate(items, workerId);
  }

  profile(userId: string): Profile | undefined {
    return this.db.prepare('SELECT * FROM profiles WHERE user_id = ?').get(userId) as Profile | undefined;
  }

  profiles(): Profile[] {
    return this.db.prepare('SELECT * FROM profiles ORDER BY user_id').all() as Profile[];
  }

  /** Processed events in processing order. */
  processed(): { seq: number; event_id: string; user_id: string; partition: number; offset: number; worker_id: string }[] {
    return this.db.prepare('SELECT seq, event_id, user_id, partition, "offset", worker_id FROM processed_events ORDER BY seq').all() as never;
  }

  processedCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM processed_events').get() as { n: number }).n;
  }

  /** Redeliveries skipped because their event_id was already applied. */
  duplicatesSkipped(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM duplicate_deliveries').get() as { n: number }).n;
  }

  /** Skipped redeliveries of events that `workerId` had applied: work it did and did not commit. */
  duplicatesOfWorkBy(workerId: string): number {
    return this.duplicateDeliveriesOfWorkBy(workerId).length;
  }

  /** The same, one row per skipped redelivery (by event_id): which event, and which worker skipped it. */
  duplicateDeliveriesOfWorkBy(workerId: string): { event_id: string; skipped_by: string }[] {
    return this.db.prepare(`SELECT d.event_id, d.worker_id AS skipped_by FROM duplicate_deliveries d
      JOIN processed_events p ON p.event_id = d.event_id WHERE p.worker_id = ? ORDER BY d.event_id, d.seq`).all(workerId) as never;
  }

  close(): void {
    this.db.close();
  }
}
