import { describe, expect, it } from 'vitest';
import type { EnrichedEvent } from '../../../shared/schema.js';
import { eventTimeOf } from '../src/event-time.js';
import type { Output } from '../src/outputs.js';
import { PartitionState } from '../src/partition-state.js';

const GRACE = 10 * 60_000;
let n = 0;
const at = (user: string, type: string, time: string, server = time): EnrichedEvent => ({
  user_id: user, event_type: type, properties: {}, timestamp: time, server_timestamp: server,
  event_id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, client_ip: '127.0.0.1',
});
const feed = (state: PartitionState, events: EnrichedEvent[]) => events.flatMap((e, i) => state.apply(e, i));
const of = <K extends Output['kind']>(outputs: Output[], kind: K) =>
  outputs.filter((o): o is Extract<Output, { kind: K }> => o.kind === kind).map((o) => o.value as Extract<Output, { kind: K }>['value']);

describe('event time', () => {
  it('is the client timestamp when believable, else the server timestamp', () => {
    const server = '2026-01-05T10:00:00.000Z';
    expect(eventTimeOf({ timestamp: '2026-01-05T09:58:00.000Z', server_timestamp: server }).source).toBe('client');
    expect(eventTimeOf({ timestamp: '2026-01-06T10:00:00.000Z', server_timestamp: server })).toEqual({ ms: Date.parse(server), source: 'server' });
    expect(eventTimeOf({ server_timestamp: server }).source).toBe('server');
  });
});

describe('PartitionState', () => {
  it('emits an hourly window once, when stream time passes its end plus the grace period, with out-of-order events inside the grace counted', () => {
    const s = new PartitionState(GRACE);
    const early = feed(s, [
      at('u1', 'login', '2026-01-05T10:05:00Z'),
      at('u1', 'click', '2026-01-05T10:59:00Z'),
      at('u1', 'click', '2026-01-05T11:05:00Z'),
      at('u1', 'click', '2026-01-05T10:56:00Z'), // 9 minutes behind: inside the grace period
    ]);
    expect(of(early, 'hourly')).toEqual([]);
    const closing = feed(s, [at('u1', 'page_view', '2026-01-05T11:10:00Z')]);
    expect(of(closing, 'hourly')).toEqual([{ user_id: 'u1', window_start: '2026-01-05T10:00:00.000Z', window_end: '2026-01-05T11:00:00.000Z',
      counts: { click: 2, login: 1 }, total: 3 }]);
    expect(of(feed(s, [at('u1', 'click', '2026-01-05T11:11:00Z')]), 'hourly')).toEqual([]);
  });

  it('counts an event behind the grace period as late, reports it, and leaves the closed window alone; logins still count it', () => {
    const s = new PartitionState(GRACE);
    feed(s, [at('u1', 'click', '2026-01-05T10:05:00Z'), at('u1', 'click', '2026-01-05T12:00:00Z')]);
    const out = feed(s, [at('u1', 'login', '2026-01-05T10:30:00Z')]);
    expect(of(out, 'late')).toMatchObject([{ user_id: 'u1', missed: ['hourly', 'activity'], stream_time: '2026-01-05T12:00:00.000Z' }]);
    expect(of(out, 'hourly')).toEqual([]);
    expect(of(out, 'logins')).toMatchObject([{ user_id: 'u1', login_count: 1 }]);
    expect(s.meta.late_events).toBe(1);
  });

  it('emits each 15-minute activity window holding an event, with events per minute', () => {
    const s = new PartitionState(GRACE);
    const out = feed(s, [at('u1', 'click', '2026-01-05T10:00:30Z'), at('u1', 'click', '2026-01-05T10:01:10Z'), at('u1', 'tick', '2026-01-05T11:00:00Z')]);
    const activity = of(out, 'activity');
    expect(activity).toHaveLength(16); // windows starting 09:46 … 10:01
    expect(activity[0]).toEqual({ user_id: 'u1', window_start: '2026-01-05T09:46:00.000Z', window_end: '2026-01-05T10:01:00.000Z', events: 1, events_per_minute: 1 / 15 });
    expect(activity.filter((a) => a.events === 2)).toHaveLength(14);
  });

  it('restores from its own changelog to a state that continues exactly as the original', () => {
    const events = [at('u1', 'login', '2026-01-05T10:05:00Z'), at('u2', 'click', '2026-01-05T10:20:00Z'), at('u1', 'login', '2026-01-05T10:40:00Z')];
    const rest = [at('u1', 'login', '2026-01-05T10:50:00Z'), at('u2', 'click', '2026-01-05T12:00:00Z')];
    const original = new PartitionState(GRACE);
    feed(original, events);
    const restored = new PartitionState(GRACE);
    for (const r of original.takeChangelog()) restored.restore(r.key, r.value);
    expect(restored.meta).toEqual({ stream_time: Date.parse('2026-01-05T10:40:00Z'), position: 3, late_events: 0 });
    const a = rest.flatMap((e, i) => original.apply(e, 3 + i));
    const b = rest.flatMap((e, i) => restored.apply(e, 3 + i));
    expect(b).toEqual(a);
    expect(of(a, 'logins')).toMatchObject([{ login_count: 3 }]);
  });
});
