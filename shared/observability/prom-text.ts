/**
 * Reading Prometheus' text exposition format (what every /metrics endpoint here serves), and
 * Prometheus' `histogram_quantile` on cumulative buckets, for the dashboard and the tests.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/g;

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** Every sample of a scrape; comments (# HELP, # TYPE) and blank lines are skipped. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const match = sampleLine.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(labelPair)) labels[key!] = unescapeLabel(value!);
    samples.push({ name: match[1]!, labels, value: parseValue(match[3]!) });
  }
  return samples;
}

/** Samples named `name` whose labels include every pair of `match`. */
export function select(samples: Sample[], name: string, match: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** Sum of the selected samples' values (0 when none). */
export function sum(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return select(samples, name, match).reduce((total, s) => total + s.value, 0);
}

/** Cumulative bucket counts by upper bound `le`, summed over the selected series of `<name>_bucket`. */
export function histogramBuckets(samples: Sample[], name: string, match: Record<string, string> = {}): { le: number; count: number }[] {
  const byLe = new Map<number, number>();
  for (const s of select(samples, `${name}_bucket`, match)) {
    const le = parseValue(s.labels.le ?? 'NaN');
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/** Bucket counts of `after` minus those of `before` (a window's observations; counters only grow). */
export function bucketDelta(after: { le: number; count: number }[], before: { le: number; count: number }[]) {
  const prior = new Map(before.map((b) => [b.le, b.count]));
  return after.map((b) => ({ le: b.le, count: b.count - (prior.get(b.le) ?? 0) }));
}

/**
 * Prometheus' histogram_quantile: finds the bucket holding the q-th observation and
 * interpolates linearly inside it; the +Inf bucket answers the highest finite bound.
 * NaN when there are no observations.
 */
export function histogramQuantile(q: number, buckets: { le: number; count: number }[]): number {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (sorted.length < 2 || !Number.isFinite(total) || total <= 0 || sorted.at(-1)!.le !== Infinity) return Number.NaN;
  const rank = q * total;
  let index = sorted.findIndex((b) => b.count >= rank);
  if (index < 0) index = sorted.length - 1;
  if (sorted[index]!.le === Infinity) return sorted[sorted.length - 2]!.le;
  const upper = sorted[index]!;
  const lowerBound = index === 0 ? 0 : sorted[index - 1]!.le;
  const lowerCount = index === 0 ? 0 : sorted[index - 1]!.count;
  if (upper.count === lowerCount) return upper.le;
  return lowerBound + ((upper.le - lowerBound) * (rank - lowerCount)) / (upper.count - lowerCount);
}

/** GETs a /metrics endpoint and parses it. */
export async function scrape(url: string, timeoutMs = 5_000): Promise<Sample[]> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return parsePrometheusText(await response.text());
}
