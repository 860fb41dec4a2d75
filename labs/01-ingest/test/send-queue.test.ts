import { describe, expect, it } from 'vitest';
import { SendQueue, type Sized } from '../src/send-queue.js';

const entry = (bytes: number, enqueuedAt = 0): Sized & { id: number } => ({ id: Math.random(), bytes, enqueuedAt });

describe('SendQueue (the publisher\'s waiting events)', () => {
  it('refuses an event that would exceed its count or byte cap, and counts only what it holds', () => {
    const q = new SendQueue({ maxEvents: 2, maxBytes: 100 });
    expect(q.offer(entry(60))).toBe(true);
    expect(q.offer(entry(50))).toBe(false); // 110 bytes > 100
    expect(q.offer(entry(40))).toBe(true);
    expect(q.offer(entry(1))).toBe(false); // third event > 2
    expect([q.size, q.bytes]).toEqual([2, 100]);
  });

  it('cuts the oldest events into a batch of at most maxEvents and maxBytes, in arrival order', () => {
    const q = new SendQueue({ maxEvents: 100, maxBytes: 10_000 });
    const es = [10, 20, 30, 40, 50].map((b, i) => entry(b, i));
    for (const e of es) q.offer(e);
    expect(q.takeBatch({ maxEvents: 2, maxBytes: 1_000 })).toEqual(es.slice(0, 2));
    expect(q.takeBatch({ maxEvents: 10, maxBytes: 75 })).toEqual(es.slice(2, 4)); // 30 + 40; 50 more would exceed 75
    expect([q.size, q.bytes]).toEqual([1, 50]);
  });

  it('sends an event larger than a batch alone rather than never', () => {
    const q = new SendQueue({ maxEvents: 10, maxBytes: 10_000 });
    const big = entry(5_000);
    q.offer(big);
    q.offer(entry(1));
    expect(q.takeBatch({ maxEvents: 10, maxBytes: 1_000 })).toEqual([big]);
    expect(q.size).toBe(1);
  });

  it('drops an expired event from the queue and reports the oldest wait', () => {
    const q = new SendQueue({ maxEvents: 10, maxBytes: 1_000 });
    const a = entry(10, 100);
    const b = entry(10, 130);
    q.offer(a);
    q.offer(b);
    expect(q.oldestWait(150)).toBe(50);
    expect(q.remove(a)).toBe(true);
    expect(q.remove(a)).toBe(false);
    expect(q.oldestWait(150)).toBe(20);
    expect(q.fills({ maxEvents: 1, maxBytes: 1_000 })).toBe(true);
    expect(q.fills({ maxEvents: 2, maxBytes: 1_000 })).toBe(false);
  });
});
