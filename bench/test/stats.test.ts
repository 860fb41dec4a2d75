import { describe, expect, it } from 'vitest';
import { figure, latencyOf, percentile } from '../stats.js';

describe('bench statistics', () => {
  it('takes nearest-rank percentiles of sorted values', () => {
    const sorted = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect([percentile(sorted, 50), percentile(sorted, 95), percentile(sorted, 99), percentile(sorted, 100)]).toEqual([5, 10, 10, 10]);
    expect(percentile(sorted, 10)).toBe(1);
    expect(percentile(new Float64Array(), 50)).toBeNaN();
  });

  it('sorts unsorted latencies before taking p50, p95, p99 and max', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1
    expect(latencyOf(values)).toEqual({ p50: 50, p95: 95, p99: 99, max: 100 });
  });

  it('writes unmeasured figures as null in the SUMMARY line', () => {
    expect([figure(1.2345), figure(undefined), figure(Number.NaN)]).toEqual([1.23, null, null]);
  });
});
