/**
 * The failover's checker: a pure function of one run's history (like labs/03-failure/src/checker.ts,
 * no client or fault code in it), counting what a regional failover cost, event by event.
 *
 * The history has four views:
 * - `sent`:    what the clients sent to region A and whether they got a 202 (each client in sending order);
 * - `logA`:    region A's topic, read after A's broker is started again on its data (the oracle of what A acked);
 * - `logB`:    region B's mirrored topic (`A.crm-events`), whose offsets are A's minus `shift`;
 * - `applied`: the profile store's rows (which region applied each event) and the deliveries its
 *              event_id dedupe refused, plus where B's group resumed after the offset translation.
 */

export interface Sent {
  event_id: string;
  user_id: string;
  client: string;
  acked: boolean;
}

export interface LogRecord {
  partition: number;
  offset: number;
  event_id?: string;
  user_id?: string;
}

export type Region = 'A' | 'B';

export interface FailoverHistory {
  sent: Sent[];
  logA: LogRecord[];
  logB: LogRecord[];
  /** Per partition: A's offset minus B's for the same record (A's log start when MM2 began). */
  shift: Map<number, number>;
  /** The profile store: who applied each event (one row per event_id: the store's dedupe). */
  applied: { event_id: string; region: Region }[];
  /** Deliveries the dedupe refused (already applied), by the region that received them. */
  refused: { event_id: string; region: Region }[];
  /** Where B's group resumed on each partition of the mirrored topic (the translated offsets). */
  resumedAt: Map<number, number>;
  /** Profiles in the store. */
  profiles: { user_id: string; event_count: number }[];
}

export interface FailoverVerdict {
  /** Acked by region A (202). */
  acked: number;
  /** Acked in A and held by B. */
  replicated: string[];
  /** Acked in A and never replicated: the failover's RPO, in events. */
  lostInFailover: string[];
  /** Applied by A's workers but not held by B: effects B cannot reproduce from its topic. */
  appliedOnlyInA: string[];
  /** B's record at offset d is not A's record at d + shift: B's copy is not a prefix of A's log. */
  diverged: { partition: number; offset: number; inB?: string; inA?: string }[];
  /** Held by B, sent by no client. */
  stray: LogRecord[];
  /** A user's events held by B in another order than their client sent them. */
  reordered: { user_id: string; first: string; second: string }[];
  /** Held by B, applied by no region. */
  unapplied: string[];
  /** Delivered again in B after A had applied them (at or past the translated offset), refused by the dedupe. */
  reread: string[];
  /** What the offsets say B must re-read: B's records from the translated offset on that A had applied. */
  expectedReread: string[];
  /** A user whose profile counts a different number of events than the events applied for them. */
  wrongProfile: { user_id: string; event_count: number; expected: number }[];
}

const byPosition = (x: LogRecord, y: LogRecord) => x.partition - y.partition || x.offset - y.offset;

export function checkFailover(h: FailoverHistory): FailoverVerdict {
  const ackedIds = h.sent.filter((s) => s.acked).map((s) => s.event_id);
  const inB = new Set(h.logB.map((r) => r.event_id));
  const sentIds = new Set(h.sent.map((s) => s.event_id));
  const region = new Map(h.applied.map((a) => [a.event_id, a.region]));

  const aAt = new Map(h.logA.map((r) => [`${r.partition}:${r.offset}`, r]));
  const diverged = h.logB.flatMap((r) => {
    const a = aAt.get(`${r.partition}:${r.offset + (h.shift.get(r.partition) ?? 0)}`);
    return a?.event_id === r.event_id ? [] : [{ partition: r.partition, offset: r.offset, inB: r.event_id, inA: a?.event_id }];
  });

  // Each user belongs to one client: its send index orders the user's events.
  const sendIndex = new Map<string, number>();
  h.sent.forEach((s, i) => sendIndex.set(s.event_id, i));
  const lastOfUser = new Map<string, string>();
  const reordered: FailoverVerdict['reordered'] = [];
  for (const r of [...h.logB].sort(byPosition)) {
    if (!r.user_id || !r.event_id || !sendIndex.has(r.event_id)) continue;
    const before = lastOfUser.get(r.user_id);
    if (before !== undefined && sendIndex.get(before)! > sendIndex.get(r.event_id)!) reordered.push({ user_id: r.user_id, first: before, second: r.event_id });
    lastOfUser.set(r.user_id, r.event_id);
  }

  const expectedReread = h.logB
    .filter((r) => r.offset >= (h.resumedAt.get(r.partition) ?? 0) && r.event_id !== undefined && region.get(r.event_id) === 'A')
    .map((r) => r.event_id!);
  const reread = [...new Set(h.refused.filter((d) => d.region === 'B').map((d) => d.event_id))];

  // The profile oracle: every distinct event B holds, plus those only A applied, counted by user from the logs.
  const userOf = new Map<string, string>();
  for (const r of [...h.logA, ...h.logB]) if (r.event_id && r.user_id) userOf.set(r.event_id, r.user_id);
  const appliedOnlyInA = h.applied.filter((a) => a.region === 'A' && !inB.has(a.event_id)).map((a) => a.event_id);
  const expectedCount = new Map<string, number>();
  for (const id of new Set([...h.logB.map((r) => r.event_id).filter((x): x is string => !!x && sentIds.has(x)), ...appliedOnlyInA])) {
    const user = userOf.get(id);
    if (user) expectedCount.set(user, (expectedCount.get(user) ?? 0) + 1);
  }
  // Only the users of this history (a store may hold others, e.g. those B served after the failover).
  const users = new Set(h.sent.map((s) => s.user_id));
  const wrongProfile = h.profiles
    .filter((p) => users.has(p.user_id))
    .filter((p) => (expectedCount.get(p.user_id) ?? 0) !== p.event_count)
    .map((p) => ({ user_id: p.user_id, event_count: p.event_count, expected: expectedCount.get(p.user_id) ?? 0 }));
  for (const [user, expected] of expectedCount) if (!h.profiles.some((p) => p.user_id === user)) wrongProfile.push({ user_id: user, event_count: 0, expected });

  return {
    acked: ackedIds.length,
    replicated: ackedIds.filter((id) => inB.has(id)),
    lostInFailover: ackedIds.filter((id) => !inB.has(id)),
    appliedOnlyInA,
    diverged,
    stray: h.logB.filter((r) => !r.event_id || !sentIds.has(r.event_id)),
    reordered,
    unapplied: h.logB.filter((r) => r.event_id && !region.has(r.event_id)).map((r) => r.event_id!),
    reread,
    expectedReread,
    wrongProfile,
  };
}

/** The one line a run prints: `acked=… replicated=… lost_in_failover=… …`. */
export function verdictLine(v: FailoverVerdict): string {
  return `acked=${v.acked} replicated=${v.replicated.length} lost_in_failover(RPO)=${v.lostInFailover.length} `
    + `applied_only_in_A=${v.appliedOnlyInA.length} reread=${v.reread.length} expected_reread=${v.expectedReread.length} `
    + `diverged=${v.diverged.length} stray=${v.stray.length} reordered=${v.reordered.length} unapplied=${v.unapplied.length} `
    + `wrong_profile=${v.wrongProfile.length}`;
}
