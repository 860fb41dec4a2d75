import { describe, expect, it } from 'vitest';
import { LogSampler } from '../src/log-sampler.js';

describe('LogSampler.drainSkippedIfDue', () => {
  it('hands out the count of lines left out at most once per interval, and nothing is lost between summaries', () => {
    let now = 10_000;
    const sampler = new LogSampler(1, () => now);
    for (let i = 0; i < 4; i++) sampler.take(); // 1 line, 3 left out
    expect(sampler.drainSkippedIfDue(1_000)).toBe(3);
    sampler.take(); // still the same second: left out
    now += 500;
    expect(sampler.drainSkippedIfDue(1_000)).toBe(0); // too soon: kept for the next summary
    now += 600;
    sampler.take(); // a new second: this one gets its line
    sampler.take(); // left out
    expect(sampler.drainSkippedIfDue(1_000)).toBe(2);
    expect(sampler.drainSkippedIfDue(1_000)).toBe(0);
  });
});
