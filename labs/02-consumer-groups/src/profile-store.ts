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
  last_seen: string;
  login_count: number;
  event_count: number;
}

/**
 * The user profile store, a SQLite file shared by every worker.
 *
 * Exactly-once effect: the event_id is recorded in `processed_events` in the same transaction
 * as the profile update, so an event redelivered after a crash (processed, offset not yet
 * committed) finds its id and changes nothing. `last_seen` is idempotent on its own (a max);
 * `login_count` is not, which is why the dedupe record is needed.
 */
export class ProfileStore {
  readonly db: Database.Database;
  private readonly insertProcessed: Database.Statement;
  private readonly upsertProfile: Database.Statement;
  private readonly countDuplicate: Database.Statement;
  private readonly applyTx: (event: EnrichedEvent, position: EventPosition, workerId: string) => ApplyResult;

  /**
   * @param opts.dedupe record event_ids (exactly-once); false only to measure what that costs
   * @param opts.busyTimeoutMs how long a write waits for a lock held elsewhere before failing
   */
  constructor(file: string, opts: { dedupe?: boolean; busyTimeoutMs?: number } = {}) {
    this.db = new Database(file, { timeout: opts.busyTimeoutMs ?? 10_000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
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
    const dedupe = opts.dedupe ?? true;
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
    this.applyTx = this.db.transaction((event: EnrichedEvent, position: EventPosition, workerId: string) => {
      if (dedupe) {
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
      this.upsertProfile.run({
        user_id: event.user_id,
        seen: event.timestamp ?? event.server_timestamp,
        login: event.event_type === 'login' ? 1 : 0,
      });
      return 'applied';
    });
  }

  /** Applies one event to its user's profile, once: a redelivered event_id returns 'duplicate'. */
  apply(event: EnrichedEvent, position: EventPosition, workerId: string): ApplyResult {
    return this.applyTx(event, position, workerId);
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
    return (this.db.prepare(`SELECT count(*) AS n FROM duplicate_deliveries d
      JOIN processed_events p ON p.event_id = d.event_id WHERE p.worker_id = ?`).get(workerId) as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}
