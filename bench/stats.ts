/** Latency statistics and number formatting for the benchmarks (pure; see test/stats.test.ts). */

/** Nearest-rank percentile of ascending-sorted values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface Latency {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function latencyOf(values: number[]): Latency {
  const sorted = Float64Array.from(values).sort();
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

/** Milliseconds with two decimals, or n/a. */
export const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
/** A whole number with thousands separators. */
export const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
/** A figure for the SUMMARY line: rounded to 2 decimals, null when not measured. */
export const figure = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? null : Math.round(v * 100) / 100);
