/** The CPU budget's table ("what one event costs") and its SUMMARY figures. */
import { cpus } from 'node:os';
import { figure, int, latencyOf } from '../stats.js';
import type { BudgetPhase } from './phase.js';
import type { PeerResult } from './peer.js';

const STAGE_ROWS = ['nginx', 'api', 'kafka', 'toxiproxy', 'workers', 'streams', 'registry'];
const LABELS: Record<string, string> = {
  nginx: 'nginx', api: 'API replicas (sum)', kafka: 'Kafka broker', toxiproxy: 'Toxiproxy', workers: 'workers (2)',
  streams: 'stream processor', registry: 'schema registry', 'load generator': 'load generator (vegeta)', bench: 'the bench process',
  other: 'other processes',
};

const us = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : int(v));

export function printBudgetTable(phases: BudgetPhase[]): void {
  if (phases.length === 0) return;
  const head = phases.map((p) => (p.rate ? `${int(p.rate)} req/s` : `max (${int(p.load.goodput)}/s)`));
  console.log('\n## What one event costs: CPU µs per accepted event, by stage\n');
  console.log(`| stage | ${head.join(' | ')} |`);
  console.log(`|---|${head.map(() => '---').join('|')}|`);
  for (const k of STAGE_ROWS) console.log(`| ${LABELS[k]} | ${phases.map((p) => us(p.usPerEvent[k])).join(' | ')} |`);
  console.log(`| **total of ours** | ${phases.map((p) => `**${us(p.totalOursUs)}**`).join(' | ')} |`);
  for (const k of ['load generator', 'bench', 'other']) console.log(`| ${LABELS[k]} | ${phases.map((p) => us(p.usPerEvent[k])).join(' | ')} |`);
  const n = cpus().length;
  console.log(`| cores busy (machine) of ${n} | ${phases.map((p) => p.cores.machine!.toFixed(2)).join(' | ')} |`);
  console.log(`| headroom, cores | ${phases.map((p) => Math.max(0, n - p.cores.machine!).toFixed(2)).join(' | ')} |`);
  console.log(`| p50 / p99 ms | ${phases.map((p) => `${p.load.latency.p50.toFixed(1)} / ${p.load.latency.p99.toFixed(1)}`).join(' | ')} |`);
  console.log(`| achieved req/s (202s) | ${phases.map((p) => int(p.load.goodput)).join(' | ')} |`);
  console.log(`| max lag | ${phases.map((p) => (p.maxLag === undefined ? '–' : int(p.maxLag))).join(' | ')} |`);
}

/** Figures named as the issue names them; per-stage µs per event for every rate. */
export function budgetSummary(phases: BudgetPhase[], e2e: number[], lost: number, peer?: PeerResult): Record<string, number | null> {
  const at = (rate: number) => phases.find((p) => p.rate === rate);
  const p2000 = at(2000);
  const max = phases.find((p) => p.rate === 0);
  const out: Record<string, number | null> = {
    full_stack_p99_ms_at_2000: figure(p2000?.load.latency.p99),
    full_stack_achieved_rps_at_2000: figure(p2000?.load.goodput),
    full_stack_max_lag_at_2000: figure(p2000?.maxLag),
    e2e_p99_ms_at_1000: e2e.length ? figure(latencyOf(e2e).p99) : null,
    api_cpu_us_per_request_at_2000: figure(p2000?.usPerEvent.api),
    total_cpu_us_per_event_at_2000: figure(p2000?.totalOursUs),
    loadgen_cores_at_2000: figure(p2000?.cores['load generator']),
    other_cores_at_2000: figure(p2000?.cores.other),
    full_stack_max_rps: figure(max?.load.goodput),
    peer_max_rps: figure(peer?.max.goodput),
    peer_p99_ms_at_2000: figure(peer?.paced.latency.p99),
    peer_achieved_rps_at_2000: figure(peer?.paced.goodput),
    peer_cpu_us_per_request_at_2000: figure(peer?.pacedUsPerEvent),
    peer_lost: peer ? peer.lost : null,
    lost,
  };
  for (const p of phases.filter((x) => x.rate > 0)) {
    for (const k of [...STAGE_ROWS, 'load generator', 'other']) out[`us_per_event_${k.replace(/ /g, '_')}_at_${p.rate}`] = figure(p.usPerEvent[k]);
    out[`p99_ms_at_${p.rate}`] = figure(p.load.latency.p99);
  }
  return out;
}

/** Ours and the peer, side by side: the same job (POST /track → acked by Kafka → 202) behind an nginx of the same config. */
export function printPeerComparison(phases: BudgetPhase[], peer: PeerResult | undefined): void {
  if (!peer) return;
  const p2000 = phases.find((p) => p.rate === 2000);
  const max = phases.find((p) => p.rate === 0);
  console.log('\n## Side by side with the peer (Benthos: http_server → kafka_franz, acks=all, idempotent)\n');
  console.log('| | max req/s (202s) | p50 / p99 ms at 2,000 req/s | achieved at 2,000 | CPU µs per request at 2,000 (server + its nginx) |');
  console.log('|---|---|---|---|---|');
  if (p2000 && max) {
    console.log(`| ours (API replicas; the full stack running) | ${int(max.load.goodput)} | ${p2000.load.latency.p50.toFixed(1)} / ${p2000.load.latency.p99.toFixed(1)} | ${int(p2000.load.goodput)} | ${int((p2000.usPerEvent.api ?? 0) + (p2000.usPerEvent.nginx ?? 0))} |`);
  }
  console.log(`| Benthos (alone on the broker) | ${int(peer.max.goodput)} | ${peer.paced.latency.p50.toFixed(1)} / ${peer.paced.latency.p99.toFixed(1)} | ${int(peer.paced.goodput)} | ${int(peer.pacedUsPerEvent)} |`);
}
