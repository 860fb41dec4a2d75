/** What a profiled run gets and gives back: the same for every component (api.ts, worker.ts, streams.ts). */
import type { Admin } from 'kafkajs';
import { waitFor } from '../../infra/processes.js';
import { consumerLag, totalLag } from '../../shared/lag.js';

export interface ProfileRun {
  brokers: string[];
  topic: string;
  /** Temp folder for logs and stores. */
  root: string;
  /** Where the profiled processes write their .cpuprofile files (cpu-prof.ts). */
  profDir: string;
  rate: number;
  seconds: number;
  /** Extra environment for the profiled component (`--env NAME=value`), e.g. to profile an older setting beside the default. */
  env: Record<string, string>;
}

export interface ProfiledLoad {
  /** Events the component handled under load. */
  events: number;
  /** The load, from its first event to the component's last, on the profiles' clock (µs). */
  window: { fromUs: number; toUs: number };
  /** CPU the profiled processes used in the window, in cores (/proc: running, not waiting for a core or the disk). */
  cpuCores: number;
  /** Printed beside the table (what ran, how long the drain took). */
  notes: string[];
}

/** Waits until the group has committed every offset of the topic: with commits after processing, everything is processed. */
export function waitForNoLag(admin: Admin, groupId: string, topic: string, timeoutMs = 120_000): Promise<true> {
  return waitFor(`group ${groupId} to catch up on ${topic}`, async () => totalLag(await consumerLag(admin, groupId, topic)) === 0 ? (true as const) : undefined,
    { timeoutMs, intervalMs: 50 });
}
