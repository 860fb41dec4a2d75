/**
 * A generated input whose right answer is known by construction, not by running a second copy of
 * the processor: events for many users across several hours, out of order by less than half the
 * grace period, a few far later than the grace period (labelled late when generated), a tenth with
 * a client clock a day ahead and a tenth with no client timestamp (their server time is their
 * event time), and last one "tick" per partition far ahead, which closes every window before it.
 */
import { randomUUID } from 'node:crypto';
import { partitionFor } from '../../../shared/kafka.js';
import type { EnrichedEvent } from '../../../shared/schema.js';
import type { ActivityAverage, HourlyCount } from '../src/outputs.js';

// The oracle's own arithmetic, not src/windows.ts's (the functions under test): window bounds come
// from the calendar (Date's UTC fields) and from the definition of a hopping window, "every whole
// minute s with s <= t < s + 15 min", instead of the processor's floor division and loop.
const MINUTE_MS = 60 * 1000;
const HOUR_MS = 60 * MINUTE_MS;
/** 15-minute windows, a new one each whole minute. */
const ACTIVITY_WINDOW_MS = 15 * MINUTE_MS;
const iso = (t: number) => new Date(t).toISOString();
/** The start of the UTC calendar hour holding `t`. */
const hourStartOf = (t: number) => { const d = new Date(t); d.setUTCMinutes(0, 0, 0); return d.getTime(); };
/** Starts of the activity windows holding instant `t`: whole minutes s with s <= t < s + 15 min, oldest first. */
function activityWindowsHolding(t: number): number[] {
  const starts: number[] = [];
  const d = new Date(t);
  d.setUTCSeconds(0, 0); // the latest whole minute at or before t
  for (let s = d.getTime(); s + ACTIVITY_WINDOW_MS > t; s -= MINUTE_MS) starts.unshift(s);
  return starts;
}

export const EVENT_TYPES = ['page_view', 'login', 'click', 'purchase'] as const;
export const START = Date.parse('2026-01-05T08:00:00.000Z');

export interface WorkloadOptions {
  users: number;
  hours: number;
  eventsPerUserHour: number;
  partitions: number;
  graceMs: number;
  /** One late event per this many on-time events. */
  lateEvery?: number;
  seed?: number;
}

export interface Expected {
  /** `user|window_start` → the final hourly record. */
  hourly: Map<string, HourlyCount>;
  activity: Map<string, ActivityAverage>;
  /** user → login event ids in input order; the output must count them 1..n. */
  logins: Map<string, string[]>;
  late: Set<string>;
}

export interface Workload {
  events: EnrichedEvent[];
  expected: Expected;
}

/** mulberry32: the same seed gives the same workload. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A user id that lands on `partition`: ticks must reach every partition. */
function tickUserFor(partition: number, partitions: number): string {
  for (let i = 0; ; i++) if (partitionFor(`tick-${i}`, partitions) === partition) return `tick-${i}`;
}

function event(user_id: string, event_type: string, eventTime: number, clock: 'client' | 'none' | 'skewed', ingestDelayMs: number): EnrichedEvent {
  const base = { user_id, event_type, properties: {}, event_id: randomUUID(), client_ip: '127.0.0.1' };
  if (clock === 'client') return { ...base, timestamp: iso(eventTime), server_timestamp: iso(eventTime + ingestDelayMs) };
  // No believable client time: the server's receive time is the event time.
  if (clock === 'skewed') return { ...base, timestamp: iso(eventTime + 24 * HOUR_MS), server_timestamp: iso(eventTime) };
  return { ...base, server_timestamp: iso(eventTime) };
}

export function generateWorkload(o: WorkloadOptions): Workload {
  const random = prng(o.seed ?? 42);
  const lateEvery = o.lateEvery ?? 25;
  const users = Array.from({ length: o.users }, (_, i) => `user-${String(i).padStart(3, '0')}`);
  const nominal: { user: string; time: number }[] = [];
  for (const user of users) {
    for (let n = 0; n < o.hours * o.eventsPerUserHour; n++) nominal.push({ user, time: START + Math.floor(random() * o.hours * HOUR_MS) });
  }
  nominal.sort((a, b) => a.time - b.time);

  const events: EnrichedEvent[] = [];
  const late = new Set<string>();
  /** Each on-time event with the event time it was generated for. */
  const onTime: { e: EnrichedEvent; t: number }[] = [];
  const streamTime = new Array<number>(o.partitions).fill(-1);
  const append = (e: EnrichedEvent, t: number) => {
    const p = partitionFor(e.user_id, o.partitions);
    streamTime[p] = Math.max(streamTime[p]!, t);
    events.push(e);
  };
  const pickType = () => EVENT_TYPES[Math.floor(random() * EVENT_TYPES.length)]!;
  const pickClock = () => {
    const r = random();
    return r < 0.1 ? 'skewed' : r < 0.2 ? 'none' : 'client';
  };

  for (const [i, { user, time }] of nominal.entries()) {
    // Out of order by up to half the grace period: never late, since the stream time is at most `time`.
    const t = time - Math.floor(random() * (o.graceMs / 2));
    const e = event(user, pickType(), t, pickClock(), Math.floor(random() * 20_000));
    onTime.push({ e, t });
    append(e, t);
    if (i % lateEvery === lateEvery - 1) {
      const lateUser = users[Math.floor(random() * users.length)]!;
      const p = partitionFor(lateUser, o.partitions);
      // Behind its partition's stream time by more than an hour plus the grace: every window holding it has closed.
      if (streamTime[p]! - START > HOUR_MS + o.graceMs + MINUTE_MS) {
        const lt = streamTime[p]! - HOUR_MS - o.graceMs - MINUTE_MS - Math.floor(random() * HOUR_MS);
        const le = event(lateUser, pickType(), lt, pickClock(), 1_000);
        late.add(le.event_id);
        append(le, lt);
      }
    }
  }
  const tickTime = START + (o.hours + 1) * HOUR_MS + 2 * o.graceMs;
  for (let p = 0; p < o.partitions; p++) append(event(tickUserFor(p, o.partitions), 'tick', tickTime, 'none', 0), tickTime);

  return { events, expected: expectedOutputs(events, onTime, late) };
}

/** The right answer, by plain grouping: on-time events by user and hour / 15-minute window; every login. */
function expectedOutputs(all: EnrichedEvent[], onTime: { e: EnrichedEvent; t: number }[], late: Set<string>): Expected {
  const hourly = new Map<string, HourlyCount>();
  const activity = new Map<string, ActivityAverage>();
  for (const { e, t } of onTime) {
    const start = hourStartOf(t);
    const hk = `${e.user_id}|${iso(start)}`;
    const h = hourly.get(hk) ?? { user_id: e.user_id, window_start: iso(start), window_end: iso(start + HOUR_MS), counts: {}, total: 0 };
    h.counts[e.event_type] = (h.counts[e.event_type] ?? 0) + 1;
    h.total += 1;
    hourly.set(hk, h);
    for (const s of activityWindowsHolding(t)) {
      const ak = `${e.user_id}|${iso(s)}`;
      const a = activity.get(ak) ?? { user_id: e.user_id, window_start: iso(s), window_end: iso(s + ACTIVITY_WINDOW_MS), events: 0, events_per_minute: 0 };
      a.events += 1;
      a.events_per_minute = a.events / 15;
      activity.set(ak, a);
    }
  }
  for (const h of hourly.values()) h.counts = Object.fromEntries(Object.entries(h.counts).sort(([a], [b]) => a.localeCompare(b)));
  const logins = new Map<string, string[]>();
  for (const e of all) {
    if (e.event_type === 'login') logins.set(e.user_id, [...(logins.get(e.user_id) ?? []), e.event_id]);
  }
  return { hourly, activity, logins, late };
}
