/**
 * Consumer lag sampled in the background while a scenario runs (every 100 ms by default), on the
 * ledger's clock, so the lag curve lines up with the requests in a timeline.
 */
import type { Admin } from 'kafkajs';
import { sleep } from '../../../infra/processes.js';
import { consumerLag, totalLag } from '../../../shared/lag.js';

export interface LagSample {
  /** ms on the scenario's clock (Ledger.now()). */
  at: number;
  lag: number;
  /** Events the workers had applied by then, when the scenario can count them. */
  applied?: number;
}

export interface LagSampler {
  readonly samples: LagSample[];
  /** Stops sampling and resolves once the last sample is in. */
  stop(): Promise<LagSample[]>;
}

export function sampleLag(admin: Admin, groupId: string, topic: string, o: { now: () => number; applied?: () => number; intervalMs?: number }): LagSampler {
  const samples: LagSample[] = [];
  let running = true;
  /** One reading; false when the admin client could not read the lag. */
  const sample = async () => {
    try {
      const lag = totalLag(await consumerLag(admin, groupId, topic));
      samples.push({ at: o.now(), lag, ...(o.applied ? { applied: o.applied() } : {}) });
      return true;
    } catch {
      return false;
    }
  };
  const loop = (async () => {
    // A failed read is skipped; many in a row (the admin client is gone: the test failed) end it.
    for (let failures = 0; running && failures < 20;) {
      failures = (await sample()) ? 0 : failures + 1;
      await sleep(o.intervalMs ?? 100);
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
      // The curve ends with the lag as it is now: a scenario that waited for lag 0 just before
      // stopping must not depend on a 100 ms tick having fallen inside that moment.
      await sample();
      return samples;
    },
  };
}

/** The highest lag, when it was first reached, and the first sample after it at 0 (undefined: never drained). */
export function peakAndDrain(samples: LagSample[]): { peak: number; peakAt: number; drainedAt?: number } {
  let peak = 0;
  let peakAt = 0;
  for (const s of samples) if (s.lag > peak) [peak, peakAt] = [s.lag, s.at];
  const drained = samples.find((s) => s.at > peakAt && s.lag === 0);
  return { peak, peakAt, ...(drained ? { drainedAt: drained.at } : {}) };
}
