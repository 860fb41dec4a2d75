/**
 * The checker: a pure function of the expected outputs and what a reader saw, returning the
 * evidence per anomaly (no Kafka here). Exact means every list is empty.
 */
import type { ActivityAverage, HourlyCount, LateEvent, LoginCount } from '../src/outputs.js';
import type { Expected } from './workload.js';

export interface Observed {
  hourly: HourlyCount[];
  activity: ActivityAverage[];
  logins: LoginCount[];
  late: LateEvent[];
}

export interface WindowAnomalies {
  /** Windows the input implies and the output lacks: lost counts. */
  missing: string[];
  /** Windows the output has and the input does not imply. */
  unexpected: string[];
  /** The same window written twice: a replay after a crash that was not exactly-once. */
  duplicated: string[];
  /** Present once, with another value: a double or lost count inside it. */
  wrong: { key: string; expected: unknown; actual: unknown }[];
}

export interface Verdict {
  hourly: WindowAnomalies;
  activity: WindowAnomalies;
  /** A user's login_count sequence that is not exactly 1..n over the user's login events. */
  logins: { user: string; expected: number; counts: number[] }[];
  late: { missing: string[]; unexpected: string[]; duplicated: string[] };
}

function judgeWindows<T extends { user_id: string; window_start: string }>(expected: Map<string, T>, actual: T[]): WindowAnomalies {
  const seen = new Map<string, T>();
  const out: WindowAnomalies = { missing: [], unexpected: [], duplicated: [], wrong: [] };
  for (const record of actual) {
    const key = `${record.user_id}|${record.window_start}`;
    if (seen.has(key)) out.duplicated.push(key);
    seen.set(key, record);
    const want = expected.get(key);
    if (!want) out.unexpected.push(key);
    else if (JSON.stringify(want) !== JSON.stringify(record)) out.wrong.push({ key, expected: want, actual: record });
  }
  for (const key of expected.keys()) if (!seen.has(key)) out.missing.push(key);
  return out;
}

export function judge(expected: Expected, observed: Observed): Verdict {
  const counts = new Map<string, { counts: number[]; events: string[] }>();
  for (const l of observed.logins) {
    const c = counts.get(l.user_id) ?? { counts: [], events: [] };
    c.counts.push(l.login_count);
    c.events.push(l.event_id);
    counts.set(l.user_id, c);
  }
  const logins: Verdict['logins'] = [];
  for (const user of new Set([...expected.logins.keys(), ...counts.keys()])) {
    const want = expected.logins.get(user) ?? [];
    const got = counts.get(user) ?? { counts: [], events: [] };
    const exact = got.counts.length === want.length && got.counts.every((c, i) => c === i + 1)
      && [...got.events].sort().join() === [...want].sort().join();
    if (!exact) logins.push({ user, expected: want.length, counts: got.counts });
  }
  const lateSeen = observed.late.map((l) => l.event_id);
  return {
    hourly: judgeWindows(expected.hourly, observed.hourly),
    activity: judgeWindows(expected.activity, observed.activity),
    logins,
    late: {
      missing: [...expected.late].filter((id) => !lateSeen.includes(id)),
      unexpected: lateSeen.filter((id) => !expected.late.has(id)),
      duplicated: lateSeen.filter((id, i) => lateSeen.indexOf(id) !== i),
    },
  };
}

/** Only the anomalies that occurred, for a readable assertion failure (empty object: exact). */
export function anomaliesOf(v: Verdict): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  for (const [store, lists] of [['hourly', v.hourly], ['activity', v.activity], ['late', v.late]] as const) {
    for (const [name, list] of Object.entries(lists)) if (list.length > 0) found[`${store}.${name}`] = list.slice(0, 5);
  }
  if (v.logins.length > 0) found.logins = v.logins.slice(0, 5);
  return found;
}
