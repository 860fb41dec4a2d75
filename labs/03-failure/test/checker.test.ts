/**
 * The checker on tiny hand-written histories (4–6 operations each), one or more per anomaly.
 * Two of them are histories the old check (look up the ledger's acked ids in the topic) passed:
 * an event stored five times, and a record nobody sent.
 */
import { describe, expect, it } from 'vitest';
import { check, formatCounts, violations, type AppliedRows, type SentEvent, type TopicRecord } from '../src/checker.js';

const sent = (event_id: string, opts: Partial<SentEvent> = {}): SentEvent =>
  ({ event_id, user_id: 'u1', client: 'c1', attempts: 1, acked: true, ...opts });
const rec = (offset: number, event_id: string | undefined, opts: Partial<TopicRecord> = {}): TopicRecord =>
  ({ partition: 0, offset, event_id, user_id: 'u1', event_type: 'page_view', time: `2026-01-01T00:00:0${offset}.000Z`, ...opts });

/** What lab 03 used to check: every acked event_id is somewhere in the topic. */
const oldCheckPasses = (s: SentEvent[], t: TopicRecord[]) =>
  s.filter((e) => e.acked).every((e) => t.some((r) => r.event_id === e.event_id));

describe('the chaos checker (pure, on hand-written histories)', () => {
  it('a clean history has no anomaly', () => {
    const s = [sent('a'), sent('b'), sent('c', { user_id: 'u2' })];
    const t = [rec(0, 'a'), rec(1, 'b'), rec(0, 'c', { partition: 1, user_id: 'u2' })];
    const v = check({ sent: s, topic: t });
    expect(violations(v)).toEqual([]);
    expect(v.counts).toMatchObject({ records: 3, distinct: 3, events: 3, acked: 3, storedUnacked: 0, maxCopies: 1 });
    expect(formatCounts(v)).toBe('records=3 distinct=3 lost=0 stray=0 dup_retry=0 dup_server=0 max_copies=1 max_extra_copies=0 reordered=0 order_checks=1 '
      + 'stored_unacked=0 applied=- unapplied=- wrong_profiles=-');
  });

  it('checks a history of 200,000 events without overflowing the call stack (a 2× overload run stores more than 100,000)', () => {
    const n = 200_000;
    const s = Array.from({ length: n }, (_, i) => sent(`e${i}`, { user_id: `u${i % 1_000}`, client: `c${i % 1_000}` }));
    const t = s.map((e, i) => rec(i, e.event_id, { user_id: e.user_id, partition: i % 2, time: '2026-01-01T00:00:00.000Z' }));
    t.push(rec(n, 'e7', { user_id: 'u7', partition: 1 }));
    const v = check({ sent: s, topic: t });
    expect(v.counts).toMatchObject({ records: n + 1, distinct: n, events: n, acked: n, maxCopies: 2, maxExtraCopies: 1 });
  });

  it('lost: an acked event missing from the topic is reported by event_id; an unacked one is not', () => {
    const s = [sent('a'), sent('b'), sent('c', { acked: false, attempts: 6 }), sent('d')];
    const v = check({ sent: s, topic: [rec(0, 'a'), rec(1, 'd')] });
    expect(v.evidence.lost).toEqual(['b']);
    expect(violations(v).map((x) => x.anomaly)).toEqual(['lost']);
  });

  it('stray: a record no client sent, and one without an event_id, are reported (the old check passed this)', () => {
    const s = [sent('a'), sent('b')];
    const t = [rec(0, 'a'), rec(1, 'x'), rec(2, 'b'), rec(3, undefined)];
    expect(oldCheckPasses(s, t)).toBe(true);
    const v = check({ sent: s, topic: t });
    expect(v.evidence.stray.map((r) => [r.offset, r.event_id])).toEqual([[1, 'x'], [3, undefined]]);
    expect(violations(v)).toMatchObject([{ anomaly: 'stray', cases: 2, tolerated: 0 }]);
  });

  it('duplicated: one attempt stored five times is a server-side duplicate (the old check passed this)', () => {
    const s = [sent('a'), sent('b')];
    const t = [rec(0, 'a'), rec(1, 'b'), rec(2, 'b'), rec(3, 'b'), rec(4, 'b'), rec(5, 'b')];
    expect(oldCheckPasses(s, t)).toBe(true);
    const v = check({ sent: s, topic: t });
    expect(v.evidence['duplicated-server-side']).toEqual([{ event_id: 'b', copies: 5, attempts: 1 }]);
    expect(v.evidence['duplicated-by-retry']).toEqual([]);
    expect(v.counts.maxCopies).toBe(5);
    expect(violations(v).map((x) => x.anomaly)).toEqual(['duplicated-server-side', 'copies-over-bound']);
  });

  it('duplicated: copies within the client\'s attempts are retry duplicates, tolerated only up to the stated bound', () => {
    // b: a 503 whose write had landed, then a 202 — two attempts, two copies. c: three copies from two attempts.
    const s = [sent('a'), sent('b', { attempts: 2 }), sent('c', { attempts: 2 })];
    const t = [rec(0, 'a'), rec(1, 'b'), rec(2, 'b'), rec(3, 'c'), rec(4, 'c'), rec(5, 'c')];
    const v = check({ sent: s, topic: t });
    expect(v.evidence['duplicated-by-retry']).toEqual([{ event_id: 'b', copies: 2, attempts: 2 }]);
    expect(v.evidence['duplicated-server-side']).toEqual([{ event_id: 'c', copies: 3, attempts: 2 }]);
    expect(violations(v, { 'duplicated-by-retry': 1, 'duplicated-server-side': 1, extraCopies: 1 })).toEqual([]);
    expect(violations(v, { 'duplicated-by-retry': 1, extraCopies: 1 })).toMatchObject([{ anomaly: 'duplicated-server-side', cases: 1, tolerated: 0 }]);
  });

  it('copies: one attempt stored five times fails the copies bound even where one server-side duplicate is tolerated', () => {
    // Scenario 1 tolerates a few events copied by nginx's re-send, each at most once: attempts + 1 copies.
    const s = [sent('a'), sent('b'), sent('c'), sent('d')];
    const t = [rec(0, 'a'), rec(1, 'b'), rec(2, 'b'), rec(3, 'b'), rec(4, 'b'), rec(5, 'b'), rec(6, 'c'), rec(7, 'd')];
    const v = check({ sent: s, topic: t });
    expect(v.evidence['duplicated-server-side']).toEqual([{ event_id: 'b', copies: 5, attempts: 1 }]);
    expect(v.counts.maxExtraCopies).toBe(4);
    expect(violations(v, { 'duplicated-server-side': 1, extraCopies: 1 })).toMatchObject([
      { anomaly: 'copies-over-bound', cases: 1, tolerated: 1, evidence: [{ event_id: 'b', copies: 5, attempts: 1 }] }]);
    // Within the bound: one extra copy of a single attempt passes; the bound is printed.
    const once = check({ sent: s, topic: [rec(0, 'a'), rec(1, 'b'), rec(2, 'b'), rec(3, 'c'), rec(4, 'd')] });
    expect(violations(once, { 'duplicated-server-side': 1, extraCopies: 1 })).toEqual([]);
    expect(formatCounts(once, { 'duplicated-server-side': 1, extraCopies: 1 })).toMatch(/max_extra_copies=1 .*tolerated=duplicated-server-side<=1,copies<=attempts\+1$/);
    // Without a stated bound no copy beyond the attempts is allowed, whatever the duplicate count tolerates.
    expect(violations(once, { 'duplicated-server-side': 1 }).map((x) => x.anomaly)).toEqual(['copies-over-bound']);
  });

  it('stored_unacked: an event whose client gave up but that Kafka stored is counted, not an anomaly', () => {
    const s = [sent('a'), sent('b', { acked: false, attempts: 3 }), sent('c')];
    const v = check({ sent: s, topic: [rec(0, 'a'), rec(1, 'b'), rec(2, 'c')] });
    expect(v.counts.storedUnacked).toBe(1);
    expect(violations(v)).toEqual([]);
  });

  it('reordered: one client\'s acked events for a user stored in another order than sent', () => {
    // c1 sent a, b, c to u1 one after the other; b is stored before a. c2's d interleaves (allowed).
    const s = [sent('a'), sent('d', { client: 'c2' }), sent('b'), sent('c')];
    const t = [rec(0, 'b'), rec(1, 'd'), rec(2, 'a'), rec(3, 'c')];
    const v = check({ sent: s, topic: t });
    expect(v.evidence.reordered).toEqual([{ user_id: 'u1', client: 'c1', sentFirst: 'a', storedFirst: 'b' }]);
    expect(v.counts.orderChecks).toBe(2); // a→b, b→c
    expect(violations(v).map((x) => x.anomaly)).toEqual(['reordered']);
  });

  it('reordered: a later event stored in another partition is a reordering, whichever offset it got', () => {
    // One user's events must share a partition. b landed in partition 1 at a higher offset than a's, and d in
    // partition 1 at a lower one than c's: comparing offsets alone would pass the first.
    const s = [sent('a'), sent('b'), sent('c', { user_id: 'u2' }), sent('d', { user_id: 'u2' })];
    const t = [rec(0, 'a'), rec(1, 'c', { user_id: 'u2' }), rec(5, 'b', { partition: 1 }), rec(0, 'd', { partition: 1, user_id: 'u2' })];
    const v = check({ sent: s, topic: t });
    expect(v.evidence.reordered).toEqual([
      { user_id: 'u1', client: 'c1', sentFirst: 'a', storedFirst: 'b' },
      { user_id: 'u2', client: 'c1', sentFirst: 'c', storedFirst: 'd' },
    ]);
    expect(v.counts.orderChecks).toBe(2);
  });

  it('reordered: judged by each event\'s first copy, across clients and users independently', () => {
    // a's retry left a second copy after b: fine, a's first copy is before b. c1/u2 and c2/u1 are separate orders.
    const s = [sent('a', { attempts: 2 }), sent('b'), sent('e', { user_id: 'u2' }), sent('f', { client: 'c2' })];
    const t = [rec(0, 'f'), rec(1, 'a'), rec(2, 'b'), rec(3, 'a'), rec(0, 'e', { partition: 1, user_id: 'u2' })];
    expect(check({ sent: s, topic: t }).evidence.reordered).toEqual([]);
  });

  describe('applied (the workers\' side)', () => {
    const s = [sent('a'), sent('b'), sent('c', { user_id: 'u2' }), sent('d', { user_id: 'u2' })];
    const t = [rec(0, 'a', { event_type: 'login' }), rec(1, 'b'), rec(2, 'b'), rec(0, 'c', { partition: 1, user_id: 'u2' }),
      rec(1, 'd', { partition: 1, user_id: 'u2', event_type: 'login' })];
    const exact: AppliedRows = {
      processed: ['a', 'b', 'c', 'd'],
      profiles: [
        { user_id: 'u1', login_count: 1, event_count: 2, last_seen: '2026-01-01T00:00:01.000Z' },
        { user_id: 'u2', login_count: 1, event_count: 2, last_seen: '2026-01-01T00:00:01.000Z' },
      ],
    };

    it('every stored event applied once, profiles exact (a duplicate counted once): no anomaly', () => {
      const v = check({ sent: s, topic: t, applied: exact });
      expect(violations(v, { 'duplicated-server-side': 1, extraCopies: 1 })).toEqual([]);
      expect(v.counts.applied).toBe(4);
    });

    it('an event not applied, and a profile that counted a duplicate twice, are reported', () => {
      const v = check({ sent: s, topic: t, applied: {
        processed: ['a', 'b', 'c'],
        profiles: [{ ...exact.profiles[0]!, event_count: 3 }, exact.profiles[1]!],
      } });
      expect(v.evidence.unapplied).toEqual(['d']);
      expect(v.evidence['wrong-profile']).toEqual([{ user_id: 'u1',
        expected: { login_count: 1, event_count: 2, last_seen: '2026-01-01T00:00:01.000Z' },
        actual: { login_count: 1, event_count: 3, last_seen: '2026-01-01T00:00:01.000Z' } }]);
      expect(violations(v, { 'duplicated-server-side': 1, extraCopies: 1 }).map((x) => x.anomaly)).toEqual(['unapplied', 'wrong-profile']);
    });

    it('last_seen is compared as an instant: a +02:00 time that sorts last as text is not the latest', () => {
    // x at 10:00+02:00 is 08:00Z; y at 09:30Z is the true latest, although '…T10:00…' > '…T09:30…' as text.
    const s2 = [sent('x', { user_id: 'u3' }), sent('y', { user_id: 'u3' })];
    const t2 = [rec(0, 'x', { user_id: 'u3', time: '2026-01-01T10:00:00.000+02:00' }), rec(1, 'y', { user_id: 'u3', time: '2026-01-01T09:30:00.000Z' })];
    const profile = (last_seen: string): AppliedRows => ({ processed: ['x', 'y'], profiles: [{ user_id: 'u3', login_count: 0, event_count: 2, last_seen }] });
    expect(check({ sent: s2, topic: t2, applied: profile('2026-01-01T09:30:00.000Z') }).evidence['wrong-profile']).toEqual([]);
    // The same instant written with another offset is the same last_seen.
    expect(check({ sent: s2, topic: t2, applied: profile('2026-01-01T11:30:00.000+02:00') }).evidence['wrong-profile']).toEqual([]);
    // A store that took the text maximum (08:00Z) is wrong; the expected time is shown in UTC.
    expect(check({ sent: s2, topic: t2, applied: profile('2026-01-01T08:00:00.000Z') }).evidence['wrong-profile']).toEqual([{ user_id: 'u3',
      expected: { login_count: 0, event_count: 2, last_seen: '2026-01-01T09:30:00.000Z' },
      actual: { login_count: 0, event_count: 2, last_seen: '2026-01-01T08:00:00.000Z' } }]);
    });

    it('a missing profile, and a last_seen that is not the latest event time, are reported', () => {
      const v = check({ sent: s, topic: t, applied: {
        processed: ['a', 'b', 'c', 'd'],
        profiles: [{ ...exact.profiles[0]!, last_seen: '2026-01-01T00:00:00.000Z' }],
      } });
      expect(v.evidence['wrong-profile']!.map((w) => [w.user_id, w.actual?.last_seen])).toEqual([
        ['u1', '2026-01-01T00:00:00.000Z'], ['u2', undefined]]);
    });
  });
});
