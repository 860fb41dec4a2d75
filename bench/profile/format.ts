/** Prints a profile summary as two Markdown tables (top functions, then packages), ready for docs/benchmarks.md. */
import type { ProfileSummary } from './cpuprofile.js';

const ms = (v: number) => v.toFixed(0);
const pct = (v: number) => v.toFixed(1);
const cell = (s: string) => s.replace(/\|/g, '\\|');

export function formatSummary(s: ProfileSummary, o: { top?: number; topPackages?: number; events?: number } = {}): string {
  const top = o.top ?? 20;
  const lines: string[] = [];
  const perEvent = o.events ? `, ${((s.busyMs * 1000) / o.events).toFixed(0)} µs busy per event (${o.events.toLocaleString('en-US')} events)` : '';
  lines.push(`profiled ${ms(s.totalMs)} ms: busy ${ms(s.busyMs)} ms, idle ${ms(s.idleMs)} ms, ${s.samples.toLocaleString('en-US')} samples${perEvent}`);
  lines.push('');
  lines.push('| # | self ms | % of busy | function | package | where |');
  lines.push('|---|---|---|---|---|---|');
  s.functions.slice(0, top).forEach((f, i) => {
    lines.push(`| ${i + 1} | ${ms(f.selfMs)} | ${pct(f.percent)} | ${cell(f.functionName)} | ${cell(f.package)} | ${cell(f.location)} |`);
  });
  lines.push('');
  lines.push('| package | self ms | % of busy |');
  lines.push('|---|---|---|');
  for (const p of s.packages.slice(0, o.topPackages ?? 15)) lines.push(`| ${cell(p.package)} | ${ms(p.selfMs)} | ${pct(p.percent)} |`);
  return lines.join('\n');
}
