/**
 * The state of one input partition and the pure logic that turns its events into outputs: no
 * Kafka here. A task (task.ts) feeds it events in offset order, sends what `apply` returns inside
 * the open transaction, and at commit writes `takeChangelog()` to the changelog topic in the same
 * transaction. A new owner replays the changelog through `restore` and continues where the last
 * committed transaction stopped.
 */
import type { EnrichedEvent } from '../../../shared/schema.js';
import { eventTimeOf } from './event-time.js';
import type { Output } from './outputs.js';
import {
  ACTIVITY_ADVANCE_MS, ACTIVITY_WINDOW_MS, HOUR_MS, MINUTE_MS, activityWindowStartsHolding, hourStartOf, iso, minuteStartOf,
} from './windows.js';

/** Changelog keys: one per open hourly window, per activity minute bucket, per user's login count, plus the partition's meta. */
const META_KEY = 'meta';
const hourlyKey = (start: number, user: string) => `hourly|${start}|${user}`;
const bucketKey = (minute: number, user: string) => `activity|${minute}|${user}`;
const loginsKey = (user: string) => `logins|${user}`;

/** Splits `store|number|user` (user ids may hold `|`). */
function splitWindowKey(key: string): { start: number; user: string } {
  const first = key.indexOf('|');
  const second = key.indexOf('|', first + 1);
  return { start: Number(key.slice(first + 1, second)), user: key.slice(second + 1) };
}

export interface PartitionMeta {
  /** The largest event time seen on this partition (-1: none yet). */
  stream_time: number;
  /** The next input offset to process: the offset committed with the same transaction. */
  position: number | null;
  late_events: number;
}

export class PartitionState {
  meta: PartitionMeta = { stream_time: -1, position: null, late_events: 0 };
  private readonly hourly = new Map<string, { user: string; start: number; counts: Record<string, number> }>();
  /** user → minute start → events in that minute; a window's count is the sum of its 15 minutes. */
  private readonly buckets = new Map<string, Map<number, number>>();
  private readonly logins = new Map<string, number>();
  /** Changelog writes since the last commit, last value per key (null: delete). */
  private dirty = new Map<string, string | null>();

  constructor(private readonly graceMs: number) {}

  /** Windows ending at or before this are closed: emitted, and deaf to later events. */
  private closedThrough(): number {
    return this.meta.stream_time < 0 ? -Infinity : this.meta.stream_time - this.graceMs;
  }

  /** Processes the event at `offset`; returns what to send. */
  apply(event: EnrichedEvent, offset: number): Output[] {
    const outputs: Output[] = [];
    const user = event.user_id;
    const t = eventTimeOf(event).ms;
    const closedBefore = this.closedThrough();
    if (t > this.meta.stream_time) this.meta.stream_time = t;
    const closed = this.closedThrough();

    if (event.event_type === 'login') {
      const count = (this.logins.get(user) ?? 0) + 1;
      this.logins.set(user, count);
      this.dirty.set(loginsKey(user), String(count));
      outputs.push({ kind: 'logins', key: user, value: { user_id: user, login_count: count, event_id: event.event_id } });
    }

    const missed: ('hourly' | 'activity')[] = [];
    const hour = hourStartOf(t);
    if (hour + HOUR_MS <= closed) {
      missed.push('hourly');
    } else {
      const key = hourlyKey(hour, user);
      const window = this.hourly.get(key) ?? { user, start: hour, counts: {} };
      window.counts[event.event_type] = (window.counts[event.event_type] ?? 0) + 1;
      this.hourly.set(key, window);
      this.dirty.set(key, JSON.stringify(window.counts));
    }
    const minute = minuteStartOf(t);
    // The newest window holding this minute starts at it; once that one is closed, all are.
    if (minute + ACTIVITY_WINDOW_MS <= closed) {
      missed.push('activity');
    } else {
      const userBuckets = this.buckets.get(user) ?? new Map<number, number>();
      const n = (userBuckets.get(minute) ?? 0) + 1;
      userBuckets.set(minute, n);
      this.buckets.set(user, userBuckets);
      this.dirty.set(bucketKey(minute, user), String(n));
    }
    if (missed.length > 0) {
      this.meta.late_events += 1;
      outputs.push({ kind: 'late', key: user, value: {
        user_id: user, event_id: event.event_id, event_type: event.event_type, event_time: iso(t),
        stream_time: iso(this.meta.stream_time), missed,
      } });
    }

    // Every window ends on a minute boundary: nothing closes until the close line crosses one.
    if (Math.floor(closed / MINUTE_MS) > Math.floor(closedBefore / MINUTE_MS)) {
      outputs.push(...this.closeHourly(closed), ...this.closeActivity(closedBefore, closed));
    }
    this.meta.position = offset + 1;
    return outputs;
  }

  private closeHourly(closed: number): Output[] {
    // #region solution 06:close-windows — Emit each hourly window that ends at or before `closed` (stream time minus grace) once, then forget it
    // hint: A window [start, start + HOUR_MS) is closed when `start + HOUR_MS <= closed`; later events for it are late, not counted.
    // hint: Output `{ kind: 'hourly', key: user, value: { user_id, window_start, window_end, counts, total } }` with counts sorted by event type (`iso()` for the times).
    // hint: Delete the window from `this.hourly` and mark its changelog key deleted (`this.dirty.set(key, null)`), so a restored state does not emit it twice.
    // stub: return [];
    const out: Output[] = [];
    for (const [key, w] of this.hourly) {
      if (w.start + HOUR_MS > closed) continue;
      const counts = Object.fromEntries(Object.entries(w.counts).sort(([a], [b]) => a.localeCompare(b)));
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      out.push({ kind: 'hourly', key: w.user, value: {
        user_id: w.user, window_start: iso(w.start), window_end: iso(w.start + HOUR_MS), counts, total,
      } });
      this.hourly.delete(key);
      this.dirty.set(key, null);
    }
    return out;
    // #endregion solution
  }

  /** Emits every activity window whose end moved into (closedBefore, closed], then drops minutes no open window holds. */
  private closeActivity(closedBefore: number, closed: number): Output[] {
    const out: Output[] = [];
    for (const [user, userBuckets] of this.buckets) {
      const starts = new Set<number>();
      for (const minute of userBuckets.keys()) {
        for (const s of activityWindowStartsHolding(minute)) {
          const end = s + ACTIVITY_WINDOW_MS;
          if (end > closedBefore && end <= closed) starts.add(s);
        }
      }
      for (const s of [...starts].sort((a, b) => a - b)) {
        let events = 0;
        for (let m = s; m < s + ACTIVITY_WINDOW_MS; m += ACTIVITY_ADVANCE_MS) events += userBuckets.get(m) ?? 0;
        out.push({ kind: 'activity', key: user, value: {
          user_id: user, window_start: iso(s), window_end: iso(s + ACTIVITY_WINDOW_MS), events,
          events_per_minute: events / (ACTIVITY_WINDOW_MS / MINUTE_MS),
        } });
      }
      for (const minute of [...userBuckets.keys()]) {
        if (minute + ACTIVITY_WINDOW_MS <= closed) {
          userBuckets.delete(minute);
          this.dirty.set(bucketKey(minute, user), null);
        }
      }
      if (userBuckets.size === 0) this.buckets.delete(user);
    }
    return out;
  }

  /** The changelog records to write in this commit's transaction (meta last), and forgets them. */
  takeChangelog(): { key: string; value: string | null }[] {
    const records = [...this.dirty].map(([key, value]) => ({ key, value }));
    records.push({ key: META_KEY, value: JSON.stringify(this.meta) });
    this.dirty = new Map();
    return records;
  }

  /** Replays one committed changelog record (later records for a key replace earlier ones). */
  restore(key: string, value: string | null): void {
    if (key === META_KEY) {
      if (value !== null) this.meta = JSON.parse(value) as PartitionMeta;
    } else if (key.startsWith('hourly|')) {
      const { start, user } = splitWindowKey(key);
      if (value === null) this.hourly.delete(key);
      else this.hourly.set(key, { user, start, counts: JSON.parse(value) as Record<string, number> });
    } else if (key.startsWith('activity|')) {
      const { start: minute, user } = splitWindowKey(key);
      const userBuckets = this.buckets.get(user) ?? new Map<number, number>();
      if (value === null) userBuckets.delete(minute);
      else userBuckets.set(minute, Number(value));
      if (userBuckets.size === 0) this.buckets.delete(user);
      else this.buckets.set(user, userBuckets);
    } else if (key.startsWith('logins|')) {
      const user = key.slice('logins|'.length);
      if (value === null) this.logins.delete(user);
      else this.logins.set(user, Number(value));
    }
  }

  /** Sizes, for logs and tests. */
  stats() {
    let buckets = 0;
    for (const b of this.buckets.values()) buckets += b.size;
    return { openHourlyWindows: this.hourly.size, activityBuckets: buckets, users: this.logins.size, ...this.meta };
  }
}
