/**
 * Segment messages → CRM events, as pure functions (no Kafka, no HTTP): the messageId → event_id rule
 * against vectors computed outside this code (Python's uuid.uuid5), Segment's clock-skew correction
 * against hand-computed instants, and what a message is refused for.
 */
import { describe, expect, it } from 'vitest';
import { segmentEventId, SEGMENT_MESSAGE_ID_NAMESPACE } from '../src/segment/event-id.js';
import { mapSegmentMessage } from '../src/segment/map-message.js';
import { correctedTimestamp } from '../src/segment/skew.js';
import { basicAuthUsername } from '../src/segment/write-key.js';

const receivedAtMs = Date.parse('2026-12-07T06:00:00.000Z');
const context = { writeKey: 'crm-lab', receivedAtMs };

describe('Segment messages mapped onto CRM events', () => {
  it('derives event_id as UUIDv5(namespace, "<write key>:<messageId>"): fixed vectors from Python\'s uuid.uuid5, the same for a retry, another for another key', () => {
    // python3 -c "import uuid; print(uuid.uuid5(uuid.UUID('1048b34d-99e5-452f-bd46-e47d08d16eb6'), 'crm-lab:' + m))"
    expect(SEGMENT_MESSAGE_ID_NAMESPACE).toBe('1048b34d-99e5-452f-bd46-e47d08d16eb6');
    expect(segmentEventId('crm-lab', 'node-next-1796622000000-7d1f6a9e-3c55-4e0b-9b8e-2f4a1c6d8e90')).toBe('2c80c571-1892-52cd-b97f-0d945e7abdc2');
    // A messageId that is a UUID is hashed too: used as is, it would be global, and another source could suppress it.
    expect(segmentEventId('crm-lab', '3b9e2c41-7a6d-4f0e-8c15-9d2e4b6a1f37')).toBe('8a8a470e-cbd1-591c-8f9e-3893b7f609b6');
    expect(segmentEventId('crm_wk_other', '3b9e2c41-7a6d-4f0e-8c15-9d2e4b6a1f37')).toBe('72a3f66e-5e7e-5561-a54c-ed43354365a1');
    expect(segmentEventId('crm-lab', 'caf\u00e9-1')).toBe('5dcc5daf-6197-540e-bfaf-47a4ad6ec486');
  });

  it('corrects the timestamp for clock skew: receivedAt − (sentAt − timestamp); without sentAt it is kept as sent', () => {
    // The client's clock is 1 h 2 min behind: it stamped the event 30 s before sending; the server received it at 06:00:00.
    expect(correctedTimestamp('2026-12-07T04:57:30.000Z', '2026-12-07T04:58:00.000Z', receivedAtMs)).toEqual({ ok: true, timestamp: '2026-12-07T05:59:30.000Z' });
    // Offsets are instants like any other: 07:57:30+02:00 is 05:57:30Z, sent at 05:58:00Z.
    expect(correctedTimestamp('2026-12-07T07:57:30.250+02:00', '2026-12-07T05:58:00Z', receivedAtMs)).toEqual({ ok: true, timestamp: '2026-12-07T05:59:30.250Z' });
    expect(correctedTimestamp('2026-12-07T07:57:30+02:00', undefined, receivedAtMs)).toEqual({ ok: true, timestamp: '2026-12-07T07:57:30+02:00' });
    expect(correctedTimestamp(undefined, '2026-12-07T05:58:00Z', receivedAtMs)).toEqual({ ok: true, timestamp: undefined });
    expect(correctedTimestamp('yesterday', undefined, receivedAtMs)).toMatchObject({ ok: false, path: 'timestamp' });
    expect(correctedTimestamp('2026-12-07T05:00:00Z', 1796622000000, receivedAtMs)).toMatchObject({ ok: false, path: 'sentAt' });
  });

  it('maps track and identify, keeping everything else the message carried (and the original timestamp) in `segment`, as sent', () => {
    const track = {
      type: 'track', event: 'Order Completed', userId: 'u_1', anonymousId: 'a_1', properties: { total: 12.5 },
      timestamp: '2026-12-07T04:57:30.000Z', messageId: 'm-1', context: { library: { name: '@segment/analytics-node' } }, integrations: {},
    };
    expect(mapSegmentMessage(track, { ...context, batchSentAt: '2026-12-07T04:58:00.000Z' })).toEqual({
      ok: true,
      event: { user_id: 'u_1', event_type: 'Order Completed', properties: { total: 12.5 }, timestamp: '2026-12-07T05:59:30.000Z', event_id: segmentEventId('crm-lab', 'm-1') },
      segment: {
        message: { type: 'track', event: 'Order Completed', userId: 'u_1', anonymousId: 'a_1', timestamp: '2026-12-07T04:57:30.000Z', messageId: 'm-1', context: { library: { name: '@segment/analytics-node' } }, integrations: {} },
        batchSentAt: '2026-12-07T04:58:00.000Z',
        receivedAt: '2026-12-07T06:00:00.000Z',
      },
    });
    const identify = { anonymousId: 'visitor-9', traits: { email: 'a@example.com' }, messageId: 'm-2', writeKey: 'crm-lab' };
    expect(mapSegmentMessage(identify, { ...context, routeType: 'identify' })).toEqual({
      ok: true,
      event: { user_id: 'anon:visitor-9', event_type: 'identify', properties: { email: 'a@example.com' }, event_id: segmentEventId('crm-lab', 'm-2') },
      // The body's writeKey is a secret: not stored (the Basic-auth key is the one that counts).
      segment: { message: { anonymousId: 'visitor-9', messageId: 'm-2' }, receivedAt: '2026-12-07T06:00:00.000Z' },
    });
  });

  it('maps page, screen, group and alias to events of their type: the payload as properties, their other fields kept in `segment`; an alias\'s properties stay in `segment` too', () => {
    const mapped = (message: Record<string, unknown>) => {
      const m = mapSegmentMessage({ userId: 'u_2', messageId: `m-${String(message.type)}`, ...message }, context);
      return m.ok ? { event: m.event, kept: m.segment.message } : m.issues;
    };
    const id = (type: string) => segmentEventId('crm-lab', `m-${type}`);
    expect(mapped({ type: 'page', name: 'Pricing', category: 'Docs', properties: { path: '/pricing' } })).toEqual({
      event: { user_id: 'u_2', event_type: 'page', properties: { path: '/pricing' }, event_id: id('page') },
      kept: { type: 'page', name: 'Pricing', category: 'Docs', userId: 'u_2', messageId: 'm-page' },
    });
    expect(mapped({ type: 'screen', name: 'Home', properties: { tab: 2 } })).toEqual({
      event: { user_id: 'u_2', event_type: 'screen', properties: { tab: 2 }, event_id: id('screen') },
      kept: { type: 'screen', name: 'Home', userId: 'u_2', messageId: 'm-screen' },
    });
    expect(mapped({ type: 'group', groupId: 'acme', traits: { plan: 'pro' } })).toEqual({
      event: { user_id: 'u_2', event_type: 'group', properties: { plan: 'pro' }, event_id: id('group') },
      kept: { type: 'group', groupId: 'acme', userId: 'u_2', messageId: 'm-group' },
    });
    // An alias carries no payload: a properties object it holds is not CRM properties, and stays with the message.
    expect(mapped({ type: 'alias', previousId: 'anon-7', properties: { odd: true } })).toEqual({
      event: { user_id: 'u_2', event_type: 'alias', properties: {}, event_id: id('alias') },
      kept: { type: 'alias', previousId: 'anon-7', properties: { odd: true }, userId: 'u_2', messageId: 'm-alias' },
    });
  });

  it('refuses, naming the Segment field: no userId nor anonymousId, a non-string userId, other types, over 32 KB, too deep, a timestamp ahead after correction', () => {
    const issues = (message: unknown, routeType?: 'track' | 'identify') => {
      const mapped = mapSegmentMessage(message, { ...context, routeType });
      return mapped.ok ? [] : mapped.issues.map((i) => i.path);
    };
    expect(issues({ type: 'track', event: 'x' })).toEqual(['userId']);
    expect(issues({ type: 'track', event: 'x', userId: 42 })).toEqual(['userId']); // not silently stringified
    expect(issues({ type: 'track', userId: 'u' })).toEqual(['event']);
    expect(issues({ type: 'capture', userId: 'u', name: 'Home' })).toEqual(['type']);
    expect(issues({ type: 'identify', userId: 'u' }, 'track')).toEqual(['type']);
    expect(issues({ type: 'identify', userId: 'u', traits: { n: { a: { b: { c: { d: { e: { f: { g: { h: { i: { j: 1 } } } } } } } } } } } })).toEqual(['(message)']);
    expect(issues({ type: 'track', event: 'x', userId: 'u', properties: { bidi: 'ok' }, anonymousId: 'a\u202e' })).toEqual([]); // anonymousId is kept as sent when userId is the key
    expect(issues({ type: 'track', event: 'x', anonymousId: 'a\u202e' })).toEqual(['anonymousId']);
    const big = mapSegmentMessage({ type: 'track', event: 'x', userId: 'u', context: { blob: 'x'.repeat(32 * 1024) } }, context);
    expect(big).toEqual({ ok: false, issues: [{ path: '(message)', message: expect.stringMatching(/^32\d{3} bytes as JSON; Segment's limit is 32 KB \(32768 bytes\) per message$/) }] });
    // Stamped 10 min after it was sent: once corrected, 10 min after it was received, over the 5 min allowed.
    const ahead = mapSegmentMessage({ type: 'track', event: 'x', userId: 'u', timestamp: '2026-12-07T05:10:00Z' }, { ...context, batchSentAt: '2026-12-07T05:00:00Z' });
    expect(ahead).toEqual({ ok: false, issues: [{ path: 'timestamp', message: 'is 600 s in the future; at most 300 s of clock skew is accepted (after clock-skew correction)' }] });
  });

  it('reads the write key from Basic auth\'s username, as the SDK sends it (base64 of "<key>:")', () => {
    expect(basicAuthUsername(`Basic ${Buffer.from('crm-lab:').toString('base64')}`)).toBe('crm-lab');
    expect(basicAuthUsername(`basic ${Buffer.from('k:secret').toString('base64')}`)).toBe('k');
    expect(basicAuthUsername(`Basic ${Buffer.from(':').toString('base64')}`)).toBeUndefined();
    expect(basicAuthUsername('Bearer crm-lab')).toBeUndefined();
    expect(basicAuthUsername(undefined)).toBeUndefined();
  });
});
