/**
 * What each request of the spike bench got, tallied per second of the run (by when it was sent):
 * 202; 429 from nginx's per-IP limit or from the API's; 503 by error code (`overloaded`: a replica
 * shed it, nothing stored; `kafka_unavailable`: not acked; nginx's `service_unavailable`); other
 * statuses; no answer at all.
 */
export const OUTCOMES = ['202', '429 edge', '429 api', '503 overloaded', '503 kafka_unavailable', '503 other', 'other', 'no answer'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export type Tally = Record<Outcome, number>;

export const emptyTally = (): Tally => Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Tally;

/** One result's outcome; the body is read only for 429 and 503. */
export function outcomeOf(code: number, body: () => string): Outcome {
  if (code === 202) return '202';
  if (code === 0) return 'no answer';
  if (code !== 429 && code !== 503) return 'other';
  let error: { error?: string; message?: string } = {};
  try {
    error = JSON.parse(body());
  } catch {
    /* not JSON: counted as "other" below */
  }
  // nginx's limit says "edge limit" (infra/nginx/nginx.conf.template); the API's names its window.
  if (code === 429) return error.message?.includes('edge limit') ? '429 edge' : '429 api';
  if (error.error === 'overloaded' || error.error === 'kafka_unavailable') return `503 ${error.error}`;
  return '503 other';
}

/** Tallies by second since `t0` (epoch ms). */
export class PerSecond {
  readonly seconds = new Map<number, Tally>();
  constructor(private readonly t0: number) {}

  add(sentAt: number, outcome: Outcome): void {
    const s = Math.max(0, Math.floor((sentAt - this.t0) / 1000));
    const tally = this.seconds.get(s) ?? emptyTally();
    tally[outcome]++;
    this.seconds.set(s, tally);
  }

  /** The sum over seconds [from, to). */
  between(from: number, to: number): Tally {
    const sum = emptyTally();
    for (const [s, tally] of this.seconds) if (s >= from && s < to) for (const o of OUTCOMES) sum[o] += tally[o];
    return sum;
  }
}

export const totalOf = (t: Tally) => OUTCOMES.reduce((sum, o) => sum + t[o], 0);

/** "202 61% · 429 edge 30% · …": the outcomes that occurred, as shares of the requests sent. */
export function shares(t: Tally): string {
  const total = totalOf(t);
  if (total === 0) return 'no requests';
  return OUTCOMES.filter((o) => t[o] > 0).map((o) => `${o} ${Math.round((100 * t[o]) / total)}%`).join(' · ');
}
