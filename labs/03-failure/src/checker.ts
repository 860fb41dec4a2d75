/**
 * The chaos suite's checker: a pure function of one scenario's history (after Jepsen's Kafka
 * checker). No Kafka client, HTTP client or fault code in here, so it can be tested on tiny
 * hand-written histories (test/checker.test.ts).
 *
 * A history is three views of the same events:
 * - `sent`:    what each client was told (the ledger): one entry per event, in the order the client
 *              sent it; a client sends one event at a time;
 * - `topic`:   every record in the scenario's topic range (from the end offsets noted before the
 *              scenario started to the end), whoever wrote it;
 * - `applied`: what the workers applied (profile store rows), when the scenario runs workers.
 *
 * Each anomaly has a fixed name and a function returning its evidence (event_ids, records, users).
 * How many of each a scenario tolerates is data (`Tolerated`); everything not listed must be 0.
 */
import { maxOf } from './max-of.js';

/** One event as its client saw it. */
export interface SentEvent {
  event_id: string;
  user_id: string;
  /** Who sent it (e.g. the source address). A client sends one event at a time, in array order. */
  client: string;
  /** HTTP attempts that may have written it: every attempt but those answered 4xx (e.g. 429). */
  attempts: number;
  /** Got a 202: the client was told the event is stored. */
  acked: boolean;
}

/** One record of the topic range. Fields are absent when the record does not carry them. */
export interface TopicRecord {
  partition: number;
  offset: number;
  event_id?: string;
  user_id?: string;
  event_type?: string;
  /** When the event happened: the client's `timestamp`, else the server's. */
  time?: string;
}

export interface ProfileRow {
  user_id: string;
  login_count: number;
  event_count: number;
  last_seen: string;
}

/** The workers' side: event_ids they recorded as applied, and the profiles they produced. */
export interface AppliedRows {
  processed: string[];
  profiles: ProfileRow[];
}

export interface History {
  sent: SentEvent[];
  topic: TopicRecord[];
  applied?: AppliedRows;
}

/** The fixed anomaly names. */
export const anomalies = [
  'lost', // acked (202) but not in the topic
  'stray', // in the topic range, but no client sent it
  'duplicated-by-retry', // more than one copy, but no more copies than the client's HTTP attempts
  'duplicated-server-side', // more copies than HTTP attempts: the producer's own retry, or nginx re-sending a POST
  'reordered', // one client's acked events for a user stored in another order than sent
  'unapplied', // stored but not recorded as applied by any worker
  'wrong-profile', // a user's profile differs from what the stored events say
] as const;
export type Anomaly = (typeof anomalies)[number];

/**
 * How many cases of each anomaly a scenario tolerates (an absent name tolerates 0), and how many
 * copies of one event beyond its HTTP attempts (`extraCopies`, default 0). The count of duplicated
 * events alone would let one event stored five times from one attempt pass a tolerance of 6; the
 * copies bound is what a scenario's fault explains per event (nginx re-sends a POST at most once
 * per replica death: attempts + 1).
 */
export type Tolerated = Partial<Record<Anomaly, number>> & { extraCopies?: number };

/** The violation of the copies bound (`Tolerated.extraCopies`), reported beside the fixed anomalies. */
export const copiesOverBound = 'copies-over-bound';

export interface Copies {
  event_id: string;
  copies: number;
  /** HTTP attempts that may have written it (see SentEvent). */
  attempts: number;
}

export interface Reordering {
  user_id: string;
  client: string;
  /** Sent (and acked) first… */
  sentFirst: string;
  /** …but this one, sent after it, is stored before it. */
  storedFirst: string;
}

export interface WrongProfile {
  user_id: string;
  expected: Omit<ProfileRow, 'user_id'>;
  actual?: Omit<ProfileRow, 'user_id'>;
}

export interface Verdict {
  evidence: {
    lost: string[];
    stray: TopicRecord[];
    'duplicated-by-retry': Copies[];
    'duplicated-server-side': Copies[];
    reordered: Reordering[];
    /** Absent when the history has no applied side. */
    unapplied?: string[];
    'wrong-profile'?: WrongProfile[];
  };
  counts: {
    /** Records in the topic range, copies included. */
    records: number;
    /** Distinct event_ids among them. */
    distinct: number;
    /** Events the clients sent / got a 202 for. */
    events: number;
    acked: number;
    /** Events stored although their client never got a 202 (gave up, or an error it did not retry). */
    storedUnacked: number;
    /** The most copies of one event_id in the topic (0 when the range is empty). */
    maxCopies: number;
    /** The most copies of one sent event beyond its HTTP attempts (0: no event has more copies than attempts). */
    maxExtraCopies: number;
    /** Pairs of events (same client, same user, sent one after the other) whose order was compared. */
    orderChecks: number;
    /** Events recorded as applied (only events of the range counted). */
    applied?: number;
  };
}

/** event_id → its records, in topic order (partition, then offset). */
function copiesById(topic: TopicRecord[]): Map<string, TopicRecord[]> {
  const out = new Map<string, TopicRecord[]>();
  const ordered = [...topic].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  for (const r of ordered) {
    if (r.event_id === undefined) continue;
    const list = out.get(r.event_id) ?? [];
    list.push(r);
    out.set(r.event_id, list);
  }
  return out;
}

/** Acked events that are not in the topic. */
export function lostCases(sent: SentEvent[], stored: Map<string, TopicRecord[]>): string[] {
  // #region solution 03:lost — Report each acked event missing from the topic, by event_id
  // hint: `stored` maps each event_id found in the topic to its copies. An event is lost only if its client was told it is stored (`acked`).
  // hint: An unacked event that is missing is not an anomaly: the client never got a 202 for it.
  // stub: return [];
  return sent.filter((s) => s.acked && !stored.has(s.event_id)).map((s) => s.event_id);
  // #endregion solution
}

/** Records no client sent (including records without an event_id). */
export function strayCases(sent: SentEvent[], topic: TopicRecord[]): TopicRecord[] {
  const known = new Set(sent.map((s) => s.event_id));
  return topic.filter((r) => r.event_id === undefined || !known.has(r.event_id));
}

/** Events stored more than once, split by whether the client's attempts explain every copy. */
export function duplicateCases(sent: SentEvent[], stored: Map<string, TopicRecord[]>): { byRetry: Copies[]; serverSide: Copies[] } {
  // #region solution 03:duplicated — Split events stored more than once into retry duplicates (copies ≤ the client's attempts) and server-side ones
  // hint: Look only at event_ids with 2 or more copies that a client sent (unknown ids are strays, judged elsewhere).
  // hint: Each HTTP attempt may have written one copy: `copies > attempts` can only come from the server side (the producer's own retry, nginx re-sending a POST).
  // stub: return { byRetry: [], serverSide: [] };
  const attempts = new Map(sent.map((s) => [s.event_id, s.attempts]));
  const byRetry: Copies[] = [];
  const serverSide: Copies[] = [];
  for (const [event_id, records] of stored) {
    if (records.length < 2 || !attempts.has(event_id)) continue; // unknown ids are strays, judged there
    const c = { event_id, copies: records.length, attempts: attempts.get(event_id)! };
    (c.copies > c.attempts ? serverSide : byRetry).push(c);
  }
  return { byRetry, serverSide };
  // #endregion solution
}

/**
 * Per client and user, consecutive acked events in the order the client sent them, each with its
 * first copy. A client waits for each 202 before sending the next event, so the first copy of the
 * earlier event must be in the partition before any copy of the later one. Consecutive pairs
 * suffice (order is transitive). Lost events are skipped (judged as lost).
 */
export function orderPairs(sent: SentEvent[], stored: Map<string, TopicRecord[]>): [{ s: SentEvent; first: TopicRecord }, { s: SentEvent; first: TopicRecord }][] {
  const out: [{ s: SentEvent; first: TopicRecord }, { s: SentEvent; first: TopicRecord }][] = [];
  const previous = new Map<string, { s: SentEvent; first: TopicRecord }>();
  for (const s of sent) {
    const first = stored.get(s.event_id)?.[0];
    if (!s.acked || !first) continue;
    const key = `${s.client}\u0000${s.user_id}`;
    const before = previous.get(key);
    if (before) out.push([before, { s, first }]);
    previous.set(key, { s, first });
  }
  return out;
}

/** Pairs of one client's acked events for a user whose topic order contradicts their sending order. */
export function reorderedCases(sent: SentEvent[], stored: Map<string, TopicRecord[]>): Reordering[] {
  // #region solution 03:reordered — Report pairs of one client's acked events for a user whose topic order contradicts the order they were sent in
  // hint: `orderPairs(sent, stored)` (above) gives consecutive acked events per client and user, each with its first copy in the topic.
  // hint: The later event's first copy must be in the same partition, at a higher offset, than the earlier one's; a different partition is a reordering too.
  // stub: return [];
  return orderPairs(sent, stored)
    .filter(([a, b]) => a.first.partition !== b.first.partition || a.first.offset > b.first.offset)
    .map(([a, b]) => ({ user_id: b.s.user_id, client: b.s.client, sentFirst: a.s.event_id, storedFirst: b.s.event_id }));
  // #endregion solution
}

/** Stored events no worker recorded as applied. */
export function unappliedCases(stored: Map<string, TopicRecord[]>, applied: AppliedRows): string[] {
  const done = new Set(applied.processed);
  return [...stored.keys()].filter((id) => !done.has(id));
}

/**
 * Each user of the range must have exactly the profile its distinct stored events give: one count
 * per event_id (never per copy), logins counted, last_seen the latest event time. An event's time
 * is its first copy's: clients that set `timestamp` make every copy carry the same one.
 */
export function wrongProfileCases(stored: Map<string, TopicRecord[]>, applied: AppliedRows): WrongProfile[] {
  // #region solution 03:wrong-profile — Report each user whose profile differs from what its distinct stored events say
  // hint: Count per event_id, never per copy: take each event's first copy (`stored` values are in topic order).
  // hint: Expected per user: event_count (one per event), login_count (events of type 'login'), last_seen (the latest `time`).
  // hint: Compare times as instants (`Date.parse`), never as text: '10:00+02:00' sorts after '09:30Z' but is earlier. Show the expected last_seen in UTC (`toISOString()`).
  // hint: A user with no profile row at all is wrong too: report it without `actual`.
  // stub: return [];
  const expected = new Map<string, Omit<ProfileRow, 'user_id'>>();
  for (const [first] of stored.values()) {
    if (!first || first.user_id === undefined) continue;
    const e = expected.get(first.user_id) ?? { login_count: 0, event_count: 0, last_seen: '' };
    const time = Date.parse(first.time ?? '');
    expected.set(first.user_id, {
      login_count: e.login_count + (first.event_type === 'login' ? 1 : 0),
      event_count: e.event_count + 1,
      last_seen: time > (Date.parse(e.last_seen) || -Infinity) ? new Date(time).toISOString() : e.last_seen,
    });
  }
  const actual = new Map(applied.profiles.map(({ user_id, ...rest }) => [user_id, rest]));
  const out: WrongProfile[] = [];
  for (const [user_id, want] of expected) {
    const got = actual.get(user_id);
    if (!got || got.login_count !== want.login_count || got.event_count !== want.event_count || Date.parse(got.last_seen) !== Date.parse(want.last_seen)) {
      out.push({ user_id, expected: want, ...(got ? { actual: { login_count: got.login_count, event_count: got.event_count, last_seen: got.last_seen } } : {}) });
    }
  }
  return out;
  // #endregion solution
}

/** Judges one scenario's history. */
export function check(history: History): Verdict {
  const stored = copiesById(history.topic);
  const duplicated = duplicateCases(history.sent, stored);
  const sentIds = new Set(history.sent.map((s) => s.event_id));
  const ackedIds = new Set(history.sent.filter((s) => s.acked).map((s) => s.event_id));
  const evidence: Verdict['evidence'] = {
    lost: lostCases(history.sent, stored),
    stray: strayCases(history.sent, history.topic),
    'duplicated-by-retry': duplicated.byRetry,
    'duplicated-server-side': duplicated.serverSide,
    reordered: reorderedCases(history.sent, stored),
  };
  if (history.applied) {
    evidence.unapplied = unappliedCases(stored, history.applied);
    evidence['wrong-profile'] = wrongProfileCases(stored, history.applied);
  }
  const processed = history.applied && new Set(history.applied.processed);
  return {
    evidence,
    counts: {
      records: history.topic.length,
      distinct: stored.size,
      events: history.sent.length,
      acked: ackedIds.size,
      storedUnacked: [...stored.keys()].filter((id) => sentIds.has(id) && !ackedIds.has(id)).length,
      maxCopies: maxOf([...stored.values()].map((r) => r.length), 0),
      maxExtraCopies: maxOf(duplicated.serverSide.map((c) => c.copies - c.attempts), 0),
      orderChecks: orderPairs(history.sent, stored).length,
      ...(processed ? { applied: [...stored.keys()].filter((id) => processed.has(id)).length } : {}),
    },
  };
}

export interface Violation {
  anomaly: Anomaly | typeof copiesOverBound;
  cases: number;
  tolerated: number;
  /** The first few cases, enough to start looking. */
  evidence: unknown[];
}

/** Anomalies with more cases than the scenario tolerates: `[]` means the history passes. */
export function violations(verdict: Verdict, tolerated: Tolerated = {}): Violation[] {
  const out: Violation[] = [];
  for (const anomaly of anomalies) {
    const cases = verdict.evidence[anomaly];
    if (!cases) continue;
    const bound = tolerated[anomaly] ?? 0;
    if (cases.length > bound) out.push({ anomaly, cases: cases.length, tolerated: bound, evidence: cases.slice(0, 5) });
  }
  // Copies beyond the client's attempts are only ever server-side duplicates (a retry's copies are within them).
  const extra = tolerated.extraCopies ?? 0;
  const over = verdict.evidence['duplicated-server-side'].filter((c) => c.copies - c.attempts > extra);
  if (over.length) out.push({ anomaly: copiesOverBound, cases: over.length, tolerated: extra, evidence: over.slice(0, 5) });
  return out;
}

/** `lost=0 stray=0 …`: every anomaly's count (`-` when not judged), then the tolerated bounds that are not 0. */
export function formatCounts(verdict: Verdict, tolerated: Tolerated = {}): string {
  const c = verdict.counts;
  const n = (a: Anomaly) => verdict.evidence[a]?.length ?? '-';
  const { extraCopies, ...byAnomaly } = tolerated;
  const bounds = Object.entries(byAnomaly).filter(([, v]) => v).map(([k, v]) => `${k}<=${v}`)
    .concat(extraCopies ? [`copies<=attempts+${extraCopies}`] : []);
  return `records=${c.records} distinct=${c.distinct} lost=${n('lost')} stray=${n('stray')} `
    + `dup_retry=${n('duplicated-by-retry')} dup_server=${n('duplicated-server-side')} max_copies=${c.maxCopies} max_extra_copies=${c.maxExtraCopies} `
    + `reordered=${n('reordered')} order_checks=${c.orderChecks} stored_unacked=${c.storedUnacked} `
    + `applied=${c.applied ?? '-'} unapplied=${n('unapplied')} wrong_profiles=${n('wrong-profile')}`
    + (bounds.length ? ` tolerated=${bounds.join(',')}` : '');
}
