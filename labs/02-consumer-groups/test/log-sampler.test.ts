import { describe, expect, it } from 'vitest';
import { LogSampler } from '../src/log-sampler.js';

describe('the per-event log sampler', () => {
  it('lets every event have its line at a learner\'s pace, caps them at N per second under load, and counts the rest', () => {
    let now = 0;
    const sampler = new LogSampler(3, () => now);
    const lines = (n: number) => Array.from({ length: n }, () => sampler.take()).filter(Boolean).length;
    expect(lines(2)).toBe(2);
    now = 1_000;
    expect(lines(10)).toBe(3);
    expect(sampler.drainSkipped()).toBe(7);
    expect(sampler.drainSkipped()).toBe(0);
    now = 1_999;
    expect(lines(1)).toBe(0); // same second
    now = 2_000;
    expect(lines(1)).toBe(1);
    expect(sampler.drainSkipped()).toBe(1);
  });
});
