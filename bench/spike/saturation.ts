/**
 * Which component of the stack saturated first during the spike bench: a pure judgment of its
 * per-second samples. A component saturates when it shows it can take no more, whichever comes first:
 * - one of its single-threaded Node processes (an API replica, a worker) uses ≥ 90 % of a core;
 * - the API replicas shed requests (503 `overloaded`), or Kafka does not ack in time (503 `kafka_unavailable`);
 * - the workers fall behind: consumer lag grew for 3 seconds in a row;
 * - our processes (the stages and the load generator) keep ≥ 90 % of the machine's cores busy: then
 *   the one using the most CPU that second is named. Other load on the machine is not ours to judge.
 * nginx's and the API's 429s are not saturation: they are the limits working.
 */
import type { Tally } from './outcomes.js';

export interface SpikeSample {
  second: number;
  phase: string;
  tally: Tally;
  /** Cores used that second, by stage (nginx, api, kafka, …), 'load generator', 'machine' (all busy cores) and 'other' (machine − ours). */
  cores: Record<string, number>;
  /** Cores of each single-threaded process (api#1, worker#1, …). */
  perProcess: Record<string, number>;
  lag: number | undefined;
}

export interface Saturation {
  second: number;
  phase: string;
  component: string;
  evidence: string;
}

const BUSY = 0.9;
const LAG_GROWING_S = 3;
const componentOf = (process: string) => (process.startsWith('worker') ? 'workers' : process.replace(/#\d+$/, ''));

export function firstSaturation(samples: SpikeSample[], machineCores: number): Saturation | undefined {
  for (const [i, s] of samples.entries()) {
    const at = (component: string, evidence: string) => ({ second: s.second, phase: s.phase, component, evidence });
    const busy = Object.entries(s.perProcess).find(([, cores]) => cores >= BUSY);
    if (busy) return at(componentOf(busy[0]), `${busy[0]} at ${busy[1].toFixed(2)} core (one event loop)`);
    if (s.tally['503 overloaded'] > 0) return at('api', `${s.tally['503 overloaded']} requests shed (503 overloaded)`);
    if (s.tally['503 kafka_unavailable'] > 0) return at('kafka', `${s.tally['503 kafka_unavailable']} requests not acked (503 kafka_unavailable)`);
    const lags = samples.slice(Math.max(0, i - LAG_GROWING_S), i + 1).map((x) => x.lag);
    if (lags.length === LAG_GROWING_S + 1 && lags.every((l, j) => l !== undefined && (j === 0 || l > lags[j - 1]!))) {
      return at('workers', `consumer lag growing: ${lags.join(' → ')}`);
    }
    const ours = Object.entries(s.cores).filter(([k]) => k !== 'machine' && k !== 'other');
    const oursCores = ours.reduce((sum, [, cores]) => sum + cores, 0);
    if (oursCores >= BUSY * machineCores) {
      const [top, cores] = ours.sort((a, b) => b[1] - a[1])[0]!;
      return at(top, `our processes at ${oursCores.toFixed(2)} of ${machineCores} cores; most of it: ${top} ${cores.toFixed(2)}`);
    }
  }
  return undefined;
}
