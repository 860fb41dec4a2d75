import { describe, expect, it } from 'vitest';
import { judge, type Ledger } from '../judge.js';
import { benchMessage, eventIdOf, seqOf } from '../workload.js';

const ledger = (over: Partial<Ledger>): Ledger => ({ sent: 0, acked: [], failed: [], unanswered: 0, ...over });
const copies = (entries: [number, number][]) => new Map(entries);

describe('bench:clients acked vs stored', () => {
  it('finds every acked message stored once: nothing lost, nothing duplicated', () => {
    expect(judge(ledger({ sent: 3, acked: [0, 1, 2] }), copies([[0, 1], [1, 1], [2, 1]])))
      .toEqual({ acked: 3, stored: 3, lost: 0, lostSample: [], duplicated: 0, failedButStored: 0, unexpected: 0 });
  });

  it('reports an acked message missing from the topic as lost, with its sequence number', () => {
    const verdict = judge(ledger({ sent: 4, acked: [0, 1, 2, 3] }), copies([[0, 1], [2, 1]]));
    expect(verdict).toMatchObject({ acked: 4, stored: 2, lost: 2, lostSample: [1, 3] });
  });

  it('counts a message stored twice as duplicated, not as two stored', () => {
    expect(judge(ledger({ sent: 2, acked: [0, 1] }), copies([[0, 2], [1, 1]]))).toMatchObject({ stored: 2, lost: 0, duplicated: 1 });
  });

  it('does not call a failed send lost, and counts its messages the broker wrote anyway', () => {
    const verdict = judge(ledger({ sent: 3, acked: [0], failed: [1, 2] }), copies([[0, 1], [2, 1]]));
    expect(verdict).toMatchObject({ acked: 1, stored: 1, lost: 0, failedButStored: 1, unexpected: 0 });
  });

  it('flags a stored sequence number that no send of the phase carried', () => {
    expect(judge(ledger({ sent: 1, acked: [0] }), copies([[0, 1], [7, 1]]))).toMatchObject({ lost: 0, unexpected: 1 });
  });
});

describe('bench:clients workload', () => {
  it('carries the sequence number in a UUID-shaped event_id, read back from the value', () => {
    const message = benchMessage(123_456);
    const value = JSON.parse(message.value);
    expect(value.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(seqOf(value.event_id)).toBe(123_456);
    expect(message.headers.event_id).toBe(value.event_id);
    expect(message.key).toBe(value.user_id);
    expect(seqOf(eventIdOf(0))).toBe(0);
    expect(seqOf('3f1c0d9e-5b1a-4c57-9a43-0c2f1d7e9b11')).toBeUndefined();
  });
});
