/**
 * CPU accounting from /proc: cores used by each component's process groups (every process the
 * lab starts is the leader of its own group), by the load generator (this process), and by
 * everything else on the machine, between two snapshots.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU ticks (user + system) per process group, over every live process. */
function ticksByProcessGroup(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after "(comm)": state ppid pgrp ... utime(14) stime(15), counted from 1 over the whole line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pgrp = Number(fields[2]);
    const ticks = Number(fields[11]) + Number(fields[12]);
    out.set(pgrp, (out.get(pgrp) ?? 0) + ticks);
  }
  return out;
}

/** Busy ticks of the whole machine (all cores), from /proc/stat. */
function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  // cpu user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait.
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return user! + nice! + system! + irq! + softirq! + (steal ?? 0);
}

/** Cores busy on the whole machine (and stolen by the hypervisor) over a short sample. */
export async function backgroundLoad(sampleMs = 2_000): Promise<{ busy: number; steal: number }> {
  const read = () => readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const a = read();
  await new Promise((resolve) => setTimeout(resolve, sampleMs));
  const b = read();
  const d = b.map((v, i) => v - (a[i] ?? 0));
  const cores = (ticks: number) => ticks / CLK_TCK / (sampleMs / 1000);
  const busy = d[0]! + d[1]! + d[2]! + d[5]! + d[6]! + (d[7] ?? 0);
  return { busy: cores(busy), steal: cores(d[7] ?? 0) };
}

export interface CpuSnapshot {
  at: number;
  groups: Map<number, number>;
  machine: number;
  self: NodeJS.CpuUsage;
}

export function cpuSnapshot(): CpuSnapshot {
  return { at: performance.now(), groups: ticksByProcessGroup(), machine: machineBusyTicks(), self: process.cpuUsage() };
}

export const COMPONENTS = ['kafka', 'api', 'nginx', 'workers', 'toxiproxy'] as const;
export type Component = (typeof COMPONENTS)[number];
/** The process groups of each component of the stack being measured. */
export type ComponentGroups = Partial<Record<Component, number[]>>;

/** Cores used per component between two snapshots (1.0 = one core fully busy). */
export type CpuShare = Record<Component | 'loadgen' | 'other', number>;

export function cpuShare(before: CpuSnapshot, after: CpuSnapshot, groups: ComponentGroups): CpuShare {
  const seconds = (after.at - before.at) / 1000;
  const cores = (ticks: number) => ticks / CLK_TCK / seconds;
  const delta = (pgids: number[] = []) =>
    pgids.reduce((sum, pgid) => sum + Math.max(0, (after.groups.get(pgid) ?? 0) - (before.groups.get(pgid) ?? 0)), 0);
  const share = Object.fromEntries(COMPONENTS.map((c) => [c, cores(delta(groups[c]))])) as Record<Component, number>;
  const loadgen = (after.self.user - before.self.user + after.self.system - before.self.system) / 1e6 / seconds;
  const ours = COMPONENTS.reduce((sum, c) => sum + share[c], 0) + loadgen;
  return { ...share, loadgen, other: Math.max(0, cores(after.machine - before.machine) - ours) };
}

export const fmtCpu = (c: CpuShare) =>
  `kafka ${c.kafka.toFixed(2)}, api ${c.api.toFixed(2)}, nginx ${c.nginx.toFixed(2)}, workers ${c.workers.toFixed(2)}, `
  + `toxiproxy ${c.toxiproxy.toFixed(2)}, load generator ${c.loadgen.toFixed(2)}, other ${c.other.toFixed(2)}`;

/** CPU seconds of each named set of process groups between two snapshots, of the whole machine, and the window's length. */
export function cpuSecondsByGroup(before: CpuSnapshot, after: CpuSnapshot, groups: Record<string, number[]>):
  { byName: Record<string, number>; machine: number; windowS: number } {
  const delta = (pgids: number[]) =>
    pgids.reduce((sum, pgid) => sum + Math.max(0, (after.groups.get(pgid) ?? 0) - (before.groups.get(pgid) ?? 0)), 0);
  const byName = Object.fromEntries(Object.entries(groups).map(([name, pgids]) => [name, delta(pgids) / CLK_TCK]));
  return { byName, machine: (after.machine - before.machine) / CLK_TCK, windowS: (after.at - before.at) / 1000 };
}
