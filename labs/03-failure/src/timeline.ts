/**
 * A picture of one chaos run: per 100 ms, the requests started and how they were answered
 * (202 / 429 / 503 / any other status or network error), the consumer lag where workers run, and
 * the fault windows shaded. One self-contained HTML file (inline SVG, no script), written under
 * .run/reports/ at the repo root.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../../../infra/paths.js';
import { maxOf } from './max-of.js';

export interface TimelineInput {
  title: string;
  /** Attempts on the scenario's clock (ms): when each started and how it was answered. */
  attempts: { at: number; status?: number; error?: string }[];
  /** Consumer lag samples on the same clock, if workers ran. */
  lag?: { at: number; lag: number }[];
  /** Fault windows on the same clock; `to` absent = until the end. */
  faults: { label: string; from: number; to?: number }[];
  bucketMs?: number;
}

export const requestSeries = ['sent', '202', '429', '503', 'errors'] as const;
export type RequestSeries = (typeof requestSeries)[number];

export interface Bucket extends Record<RequestSeries, number> {
  /** Start of the bucket, ms. */
  t: number;
}

/** Attempts counted per bucket by their start time: all of them (`sent`), and by answer. */
export function buckets(attempts: TimelineInput['attempts'], bucketMs = 100): Bucket[] {
  const end = maxOf(attempts.map((a) => a.at), 0);
  const out: Bucket[] = Array.from({ length: Math.floor(end / bucketMs) + 1 }, (_, i) =>
    ({ t: i * bucketMs, sent: 0, '202': 0, '429': 0, '503': 0, errors: 0 }));
  for (const a of attempts) {
    const b = out[Math.floor(Math.max(0, a.at) / bucketMs)]!;
    b.sent++;
    const key = a.status === 202 || a.status === 429 || a.status === 503 ? (String(a.status) as '202' | '429' | '503') : 'errors';
    b[key]++;
  }
  return out;
}

const colours: Record<RequestSeries | 'lag', string> = {
  sent: '#888888', '202': '#2a9d3f', '429': '#e0a400', '503': '#d1342f', errors: '#7b2cbf', lag: '#1f6fd1',
};

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The whole page. Requests per bucket on the left axis, lag on the right one. */
export function renderTimeline(input: TimelineInput): string {
  const bucketMs = input.bucketMs ?? 100;
  const rows = buckets(input.attempts, bucketMs);
  const lag = input.lag ?? [];
  const endMs = maxOf([rows.length * bucketMs, ...lag.map((s) => s.at), ...input.faults.map((f) => f.to ?? f.from)], 1);
  const [w, h, left, right, top, bottom] = [1000, 320, 50, 60, 20, 30];
  const x = (ms: number) => left + (ms / endMs) * (w - left - right);
  const maxReq = maxOf(rows.map((r) => r.sent), 1);
  const maxLag = maxOf(lag.map((s) => s.lag), 1);
  const yReq = (n: number) => h - bottom - (n / maxReq) * (h - top - bottom);
  const yLag = (n: number) => h - bottom - (n / maxLag) * (h - top - bottom);
  const line = (name: string, points: [number, number][]) =>
    `<polyline class="series" data-series="${name}" data-points="${points.length}" fill="none" stroke="${colours[name as RequestSeries | 'lag']}" stroke-width="1.5" points="${points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')}"/>`;
  const faults = input.faults.map((f) =>
    `<g class="fault" data-fault="${escape(f.label)}"><rect x="${x(f.from).toFixed(1)}" y="${top}" width="${Math.max(1, x(f.to ?? endMs) - x(f.from)).toFixed(1)}" height="${h - top - bottom}" fill="#d1342f" fill-opacity="0.12"/>`
    + `<text x="${(x(f.from) + 3).toFixed(1)}" y="${top + 12}" font-size="11" fill="#a00">${escape(f.label)}</text></g>`);
  const series = requestSeries.map((name) => line(name, rows.map((r) => [x(r.t + bucketMs / 2), yReq(r[name])])));
  if (lag.length) series.push(line('lag', lag.map((s) => [x(s.at), yLag(s.lag)])));
  const ticks = Array.from({ length: Math.floor(endMs / 1000) + 1 }, (_, s) => s).filter((s) => s % Math.max(1, Math.ceil(endMs / 1000 / 20)) === 0)
    .map((s) => `<text x="${x(s * 1000).toFixed(1)}" y="${h - bottom + 14}" font-size="10" text-anchor="middle">${s}s</text>`);
  const legend = [...requestSeries, ...(lag.length ? ['lag' as const] : [])]
    .map((name) => `<span style="color:${colours[name]}">■ ${name === 'lag' ? 'consumer lag (right axis)' : name === 'sent' ? 'requests sent' : name}</span>`).join(' ');
  const totals = requestSeries.map((name) => `${name}=${rows.reduce((sum, r) => sum + r[name], 0)}`).join(' ');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escape(input.title)}</title>
<style>body{font-family:sans-serif;margin:16px} span{margin-right:12px;font-size:13px}</style></head>
<body><h1 style="font-size:18px">${escape(input.title)}</h1>
<p>Per ${bucketMs} ms: requests started, by answer; shaded: fault windows. ${escape(totals)}${lag.length ? ` peak_lag=${maxLag}` : ''}</p>
<p>${legend}</p>
<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">
<rect x="${left}" y="${top}" width="${w - left - right}" height="${h - top - bottom}" fill="none" stroke="#ccc"/>
${faults.join('\n')}
${series.join('\n')}
<text x="${left - 6}" y="${top + 10}" font-size="10" text-anchor="end">${maxReq}</text>
<text x="${left - 6}" y="${h - bottom}" font-size="10" text-anchor="end">0</text>
${lag.length ? `<text x="${w - right + 6}" y="${top + 10}" font-size="10" fill="${colours.lag}">${maxLag}</text>` : ''}
${ticks.join('\n')}
</svg></body></html>
`;
}

/** Writes the page to .run/reports/<name>-<time>.html; returns the path relative to the repo root. */
export function writeTimeline(name: string, input: TimelineInput): string {
  const dir = join(repoRoot, '.run', 'reports');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name.replace(/[^a-z0-9-]+/gi, '-')}-${new Date().toISOString().replace(/[:.]/g, '-')}.html`);
  writeFileSync(file, renderTimeline(input));
  return relative(repoRoot, file);
}
