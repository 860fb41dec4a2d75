/**
 * One phase of the CPU budget: a vegeta load against an nginx URL while /proc is sampled, the
 * consumer lag watched, and each stage's CPU divided by the events it accepted.
 */
import { cpus } from 'node:os';
import { cpuSecondsByGroup } from '../cpu.js';
import { int, ms } from '../stats.js';
import type { VegetaAttack, VegetaResult } from '../vegeta/attack.js';
import { measuredAttack } from '../vegeta/measured.js';

export interface BudgetPhase {
  name: string;
  /** req/s offered; 0 = closed loop at maxWorkers (the maximum). */
  rate: number;
  load: VegetaResult;
  /** CPU µs per accepted event, by stage; plus 'load generator' (vegeta), 'bench' (this process), 'other'. */
  usPerEvent: Record<string, number>;
  /** Cores used over the phase, by the same names, and 'machine' (all busy cores). */
  cores: Record<string, number>;
  /** Our processes' CPU per event (the stages; not the load generator, the bench or other load). */
  totalOursUs: number;
  maxLag?: number;
}

export async function budgetPhase(o: Omit<VegetaAttack, 'body'> & {
  stages: Record<string, number[]>;
  body: VegetaAttack['body'];
  lag?: { brokers: string[]; groupId: string; topic: string };
  quiet?: boolean;
}): Promise<BudgetPhase> {
  const { load, before, after, benchCpuS, maxLag } = await measuredAttack(o);
  const used = cpuSecondsByGroup(before, after, o.stages);
  const seconds: Record<string, number> = { ...used.byName, 'load generator': load.cpuSeconds, bench: benchCpuS };
  // vegeta had exited before `after` was taken: its ticks are no longer in the machine's busy count's
  // per-process view, but they are in the machine's total, so "other" is what is left once it is subtracted.
  const accounted = Object.values(seconds).reduce((a, b) => a + b, 0);
  seconds.other = Math.max(0, used.machine - accounted);
  const events = load.accepted.length;
  const usPerEvent = Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, events > 0 ? (v * 1e6) / events : Number.NaN]));
  const cores = Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, v / used.windowS]));
  cores.machine = used.machine / used.windowS;
  const totalOursUs = Object.keys(o.stages).reduce((sum, k) => sum + (usPerEvent[k] ?? 0), 0);
  const phase: BudgetPhase = { name: o.name, rate: o.rate, load, usPerEvent, cores, totalOursUs, maxLag };
  if (!o.quiet) printPhase(phase);
  return phase;
}

export function printPhase(p: BudgetPhase): void {
  const l = p.load;
  const statuses = Object.entries(l.statuses).map(([code, n]) => `${code}×${int(n)}`).join(' ');
  console.log(`  ${p.name}: sent ${int(l.sent)} at ${int(l.sentRate)} req/s, 202s ${int(l.accepted.length)} (goodput ${int(l.goodput)}/s), ` +
    `statuses ${statuses || 'none'}, no answer ${l.errors}`);
  console.log(`    latency ms p50 ${ms(l.latency.p50)} p95 ${ms(l.latency.p95)} p99 ${ms(l.latency.p99)} max ${ms(l.latency.max)}` +
    `${p.maxLag === undefined ? '' : `; max lag ${int(p.maxLag)}`}`);
  console.log(`    cores of ${cpus().length}: ${Object.entries(p.cores).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
}
