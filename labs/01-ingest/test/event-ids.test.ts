/**
 * The event-id derivations against fixed vectors, computed outside this code base (Python's hashlib,
 * the rule written out: the request id's 32 hex digits, or the first 32 of SHA-256("<request id>:<index>"),
 * as a UUID with version 4 and the RFC variant). A derivation that changes would give a re-sent POST
 * another id than its first copy; comparing it with itself (as the HTTP tests do) cannot see that.
 */
import { describe, expect, it } from 'vitest';
import { batchEventIdFromEdgeRequestId, eventIdFromEdgeRequestId } from '../src/event-ids.js';

const VECTORS = [
  { requestId: '0123456789abcdef0123456789abcdef', eventId: '01234567-89ab-4def-8123-456789abcdef',
    batch: { 0: 'ca6f1a87-10df-4d0d-8232-f2ea641de69c', 1: 'c356cbae-d2f9-4a89-b958-a23567ebe5bc', 499: 'e259fc6f-b387-4156-a692-f956c1934df7' } },
  // The README's transcript: X-Request-Id a98fcb83… answered with this event_id.
  { requestId: 'a98fcb833ae28a647420844774b5d123', eventId: 'a98fcb83-3ae2-4a64-b420-844774b5d123',
    batch: { 0: '63f93272-3d1a-4ecd-9621-0830b6d607c9', 1: '12dee773-b248-4295-84e6-38ad0c5079d0', 499: 'f1765883-31e1-42f4-a328-d01ffdd70afe' } },
  { requestId: 'ffffffffffffffffffffffffffffffff', eventId: 'ffffffff-ffff-4fff-bfff-ffffffffffff',
    batch: { 0: '2f25fbe3-727a-4431-8db4-86cbdf148791', 1: '295fa836-7525-49cb-adb8-36e8c97f655f', 499: '34ed7b6b-7f96-4f22-8b31-2e66eb4f2162' } },
];

describe('event ids derived from nginx\'s request id (fixed vectors)', () => {
  it('a /track event\'s id is the request id as a version-4 UUID', () => {
    for (const v of VECTORS) expect({ requestId: v.requestId, eventId: eventIdFromEdgeRequestId(v.requestId) }).toEqual({ requestId: v.requestId, eventId: v.eventId });
  });

  it('batch event n\'s id is SHA-256 of "<request id>:<n>" as a version-4 UUID', () => {
    for (const v of VECTORS) {
      for (const [index, eventId] of Object.entries(v.batch)) {
        expect({ requestId: v.requestId, index, eventId: batchEventIdFromEdgeRequestId(v.requestId, Number(index)) }).toEqual({ requestId: v.requestId, index, eventId });
      }
    }
  });

  it('anything but 32 lower-case hex digits derives nothing (the caller makes a random id)', () => {
    for (const bad of [undefined, '', '0123456789ABCDEF0123456789ABCDEF', '0123456789abcdef0123456789abcde', '0123456789abcdef0123456789abcdef0', 42]) {
      expect({ bad, track: eventIdFromEdgeRequestId(bad), batch: batchEventIdFromEdgeRequestId(bad, 0) }).toEqual({ bad, track: undefined, batch: undefined });
    }
  });
});
