/**
 * What one event costs: `npm run bench:budget`. Runs the stack exactly as `npm run up` runs it
 * (stacks.ts: Kafka, Toxiproxy in the replicas' path, the registry, 3 replicas, nginx, 2 workers,
 * lab 06's stream processor) and drives it with vegeta (an evenly paced open-loop generator in Go,
 * installed by bench/vegeta/install.sh into the cache on first use), at BUDGET_RATES req/s for
 * BUDGET_SECONDS each, then at its maximum (closed loop, 50 in flight). For each phase it prints,
 * from /proc, the CPU µs per accepted event of each stage, of the load generator, of this process
 * and of everything else on the machine; our total; the headroom left. At the 1,000 req/s phase it
 * also measures end to end (request sent → profile updated, from the workers' processed_at).
 * With BUDGET_PEER=1, Benthos (bench/peer) does the same job behind an nginx of the same config,
 * on the same broker, in the same run. Every 202 is then looked up by event_id in the topic; a lost
 * one fails the bench. Last line: `SUMMARY {json}`. Timings are printed, never asserted.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { missingIds } from './missing-ids.js';
import { backgroundLoad, cpuSecondsByGroup, cpuSnapshot } from './cpu.js';
import { envNumber } from './env.js';
import { clientEvent } from './phases.js';
import { startFullStack, BENCH_LIMITS, type FullStack } from './stacks.js';
import { int, latencyOf, ms } from './stats.js';
import { vegetaBin } from './vegeta/attack.js';
import { budgetPhase, type BudgetPhase } from './budget/phase.js';
import { printBudgetTable, printPeerComparison, budgetSummary } from './budget/report.js';
import type { PeerResult } from './budget/peer.js';

process.env.KAFKAJS_LOG_LEVEL ??= 'nothing';

const RATES = (process.env.BUDGET_RATES ?? '500,1000,2000').split(',').map(Number);
const SECONDS = envNumber('BUDGET_SECONDS', 20);
const WARMUP_S = envNumber('BUDGET_WARMUP_S', 5);
const MAX_S = envNumber('BUDGET_MAX_S', 10);
const PEER = process.env.BUDGET_PEER === '1';
/** API replicas `up` starts (API_PORTS): 3, the seed's, by default. */
const REPLICAS = Math.round(envNumber('BUDGET_REPLICAS', 3));
const KEEP = process.env.BENCH_KEEP === '1';
const TOPIC = 'crm-events';
const IDLE_S = envNumber('BUDGET_IDLE_S', 10);

/** 997 users: a prime, so user ids and the other cycling fields do not line up. */
const body = (i: number) => ({ ...clientEvent(i), user_id: `bench_user_${i % 997}` });

/** What each stage costs with no load at all (polling, timers, heartbeats): cores over `seconds`. */
async function idleCost(stages: Record<string, number[]>, seconds: number): Promise<Record<string, number>> {
  const before = cpuSnapshot();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const used = cpuSecondsByGroup(before, cpuSnapshot(), stages);
  return Object.fromEntries(Object.entries(used.byName).map(([k, v]) => [k, v / used.windowS]));
}

/** End to end for the phase's accepted events: request sent → the worker's processed_at. */
async function endToEnd(full: FullStack, phase: BudgetPhase): Promise<number[]> {
  const wanted = new Map(phase.load.accepted.map((a) => [a.id, a.sentAt]));
  const deadline = Date.now() + 60_000;
  const db = new Database(full.profileDb, { readonly: true, fileMustExist: true });
  try {
    const read = () => db.prepare('SELECT event_id, processed_at FROM processed_events').all() as { event_id: string; processed_at: string }[];
    let rows = read();
    while (rows.filter((r) => wanted.has(r.event_id)).length < wanted.size && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      rows = read();
    }
    return rows.filter((r) => wanted.has(r.event_id)).map((r) => Date.parse(r.processed_at) - wanted.get(r.event_id)!);
  } finally {
    db.close();
  }
}

async function checkStored(brokers: string[], phases: BudgetPhase[]): Promise<number> {
  const accepted = phases.flatMap((p) => p.load.accepted.map((a) => a.id));
  const lost = await missingIds(brokers, TOPIC, accepted);
  console.log(`\nCheck: ${int(accepted.length)} events answered 202, each looked up by event_id in ${TOPIC}: ${lost.length === 0 ? 'every one is stored' : `${lost.length} LOST, e.g. ${lost.slice(0, 3).join(', ')}`}.`);
  return lost.length;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const root = mkdtempSync(join(tmpdir(), 'crm-budget-'));
  const work = join(root, 'vegeta');
  mkdirSync(work);
  console.log('# What one event costs (bench/budget.ts)\n');
  console.log(`date        ${startedAt.toISOString()}`);
  console.log(`machine     ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}`);
  console.log(`load avg    ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1/5/15 min) before starting`);
  const background = await backgroundLoad();
  console.log(`background  ${background.busy.toFixed(2)} of ${cpus().length} cores busy (steal ${background.steal.toFixed(2)}) over 2 s before the bench started anything`);
  console.log(`phases      ${RATES.join(', ')} req/s for ${SECONDS} s each (BUDGET_RATES, BUDGET_SECONDS), then the maximum for ${MAX_S} s; warm-up ${WARMUP_S} s`);
  console.log(`replicas    ${REPLICAS} API replicas (BUDGET_REPLICAS)`);
  console.log(`limits      raised so that nothing is refused: ${Object.entries(BENCH_LIMITS).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const bin = vegetaBin();
  console.log(`generator   vegeta v12.12.0 (${bin}): evenly paced, open loop, its own process (its CPU is the "load generator" row)`);

  const phases: BudgetPhase[] = [];
  let full: FullStack | undefined;
  let lost = -1;
  let e2e: number[] = [];
  let peer: PeerResult | undefined;
  let idle: Record<string, number> | undefined;
  // Ctrl-C or a kill stops the stack too (up starts it to outlive this process).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { full?.stop(); process.exit(130); });
  try {
    console.log(`\nStarting the full stack with infra/up.ts (own ports, run folder ${join(root, 'full')})...`);
    full = await startFullStack(join(root, 'full'), { replicas: REPLICAS });
    const url = `${full.nginxUrl}/track`;
    const lag = { brokers: full.brokers, groupId: 'crm-event-processors', topic: TOPIC };
    await budgetPhase({ name: 'warm-up', bin, url, rate: 250, durationS: WARMUP_S, workDir: work, body, stages: full.stages, quiet: true });
    idle = await idleCost(full.stages, IDLE_S);
    console.log('\nPhases:');
    for (const rate of RATES) {
      const phase = await budgetPhase({ name: `${rate} req/s`, bin, url, rate, durationS: SECONDS, workDir: work, body, stages: full.stages, lag });
      phases.push(phase);
      if (rate === 1000) {
        e2e = await endToEnd(full, phase);
        const l = latencyOf(e2e);
        console.log(`    end to end (sent → profile updated), ${int(e2e.length)} events: p50 ${ms(l.p50)} p95 ${ms(l.p95)} p99 ${ms(l.p99)} max ${ms(l.max)} ms`);
      }
    }
    phases.push(await budgetPhase({ name: 'max', bin, url, rate: 0, maxWorkers: 50, durationS: MAX_S, workDir: work, body, stages: full.stages, lag }));
    lost = await checkStored(full.brokers, phases);
    // Loaded only when asked: the peer's module needs Benthos, an optional install.
    if (PEER) peer = await (await import('./budget/peer.js')).peerPhases({ brokers: full.brokers, root, bin, body, rate: 2000, durationS: SECONDS, maxS: MAX_S });
  } catch (error) {
    console.log(`  the budget failed: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  } finally {
    full?.stop();
  }

  if (idle) console.log(`\nIdle (no load for ${IDLE_S} s after the warm-up), cores: ${Object.entries(idle).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
  printBudgetTable(phases);
  printPeerComparison(phases, peer);
  const summary = { ...budgetSummary(phases, e2e, lost, peer), replicas: REPLICAS, idle_cores_ours: idle ? Math.round(Object.values(idle).reduce((a, b) => a + b, 0) * 100) / 100 : null };
  console.log(`\nLoad avg after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; total ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s.`);
  if (lost === 0 && !KEEP) rmSync(root, { recursive: true, force: true });
  else console.log(`Logs and broker data kept in ${root}`);
  console.log(`SUMMARY ${JSON.stringify(summary)}`);
  if (lost !== 0 || (peer?.lost ?? 0) !== 0) process.exitCode = 1;
}

await main();
