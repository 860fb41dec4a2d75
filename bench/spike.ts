/**
 * A 100× traffic spike against the stack as `npm run up` runs it, with up's own limits (nginx 20 r/s
 * per IP, burst 50; the API 100 requests per minute per IP per replica): `npm run bench:spike`.
 *
 * BENCH_SPIKE_CLIENTS client IPs (127.0.0.2, .3, …; one vegeta each, open loop, evenly paced) send
 * POST /track through nginx in three phases: normal, spike, after. The normal rate per IP,
 * BENCH_SPIKE_BASE_RPS (2), sits under both limits: 3 replicas × 100 a minute is 5 r/s per IP for the
 * API (nginx round-robins), 20 r/s for nginx; so normal traffic is all 202. The spike is
 * BENCH_SPIKE_FACTOR (100) times that per IP: nginx's limit refuses most of it, and what passes uses
 * up each replica's per-minute budget, so the API's limit shows too; the phase after shows that the
 * API's 60-s window keeps refusing normal traffic for a while.
 *
 * Prints, per second and per phase: status shares (202, 429 from nginx or from the API, 503 by code:
 * `overloaded` vs `kafka_unavailable`, other, no answer), cores used per component (/proc, as
 * bench:budget), consumer lag; then which component saturated first (spike/saturation.ts), and
 * checks every 202 is in crm-events by event_id. Last line: `SUMMARY {json}`. Nothing is asserted on
 * timings; a lost 202 fails the bench (exit 1).
 *
 * Settings: BENCH_SPIKE_CLIENTS (10), BENCH_SPIKE_BASE_RPS (2, per IP), BENCH_SPIKE_FACTOR (100),
 * BENCH_SPIKE_MAX_RPS (2000: the spike's total rate is capped there), BENCH_SPIKE_BASE_S (20),
 * BENCH_SPIKE_S (20), BENCH_SPIKE_AFTER_S (20); BENCH_KEEP=1 keeps the run folder.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../shared/config.js';
import { createKafka } from '../shared/kafka.js';
import { consumerLag, totalLag } from '../shared/lag.js';
import { cpuSecondsByGroup, cpuSnapshot, type CpuSnapshot } from './cpu.js';
import { envNumber } from './env.js';
import { missingIds } from './missing-ids.js';
import { clientEvent } from './phases.js';
import { startFullStack, type FullStack } from './stacks.js';
import { int } from './stats.js';
import { vegetaAttack, vegetaBin } from './vegeta/attack.js';
import { emptyTally, outcomeOf, PerSecond, shares, totalOf, type Tally } from './spike/outcomes.js';
import { firstSaturation, type SpikeSample } from './spike/saturation.js';

process.env.KAFKAJS_LOG_LEVEL ??= 'nothing';

const CLIENTS = Math.round(envNumber('BENCH_SPIKE_CLIENTS', 10));
const BASE_RPS = Math.round(envNumber('BENCH_SPIKE_BASE_RPS', 2));
const FACTOR = envNumber('BENCH_SPIKE_FACTOR', 100);
const MAX_RPS = envNumber('BENCH_SPIKE_MAX_RPS', 2000);
const SPIKE_RPS = Math.max(1, Math.round(Math.min(BASE_RPS * FACTOR, MAX_RPS / CLIENTS)));
const PHASES = [
  { name: 'normal', rate: BASE_RPS, seconds: envNumber('BENCH_SPIKE_BASE_S', 20) },
  { name: 'spike', rate: SPIKE_RPS, seconds: envNumber('BENCH_SPIKE_S', 20) },
  { name: 'after', rate: BASE_RPS, seconds: envNumber('BENCH_SPIKE_AFTER_S', 20) },
];
const TOPIC = 'crm-events';
const KEEP = process.env.BENCH_KEEP === '1';
const clientIp = (c: number) => `127.0.0.${c + 2}`;

/** Samples, once a second: cores per stage, per single-threaded process, and consumer lag. */
function sampler(full: FullStack, loadgen: number[], groupId: string) {
  const perProcess = Object.fromEntries([
    ...full.stages.api.map((pgid, i) => [`api#${i + 1}`, [pgid]]),
    ...full.stages.workers.map((pgid, i) => [`worker#${i + 1}`, [pgid]]),
  ]) as Record<string, number[]>;
  const admin = createKafka(full.brokers, 'crm-bench-spike-lag').admin();
  const rows: Omit<SpikeSample, 'tally'>[] = [];
  let phase = '';
  let running = true;
  const t0 = Date.now();
  const loop = (async () => {
    await admin.connect();
    let prev: CpuSnapshot = cpuSnapshot();
    while (running) {
      await new Promise((resolve) => setTimeout(resolve, 1000 - ((Date.now() - t0) % 1000)));
      const now = cpuSnapshot();
      const stages = cpuSecondsByGroup(prev, now, { ...full.stages, 'load generator': loadgen });
      const procs = cpuSecondsByGroup(prev, now, perProcess);
      // A negative total (offsets read a moment apart, before the group's first commit) is no reading.
      const lag = await consumerLag(admin, groupId, TOPIC).then(totalLag, () => undefined).then((l) => (l !== undefined && l >= 0 ? l : undefined));
      const per = (v: number) => v / stages.windowS;
      const ours = Object.values(stages.byName).reduce((sum, v) => sum + v, 0);
      rows.push({
        second: Math.round((Date.now() - t0) / 1000) - 1, phase,
        cores: { ...Object.fromEntries(Object.entries(stages.byName).map(([k, v]) => [k, per(v)])),
          machine: per(stages.machine), other: Math.max(0, per(stages.machine - ours)) },
        perProcess: Object.fromEntries(Object.entries(procs.byName).map(([k, v]) => [k, per(v)])),
        lag,
      });
      prev = now;
    }
  })();
  return {
    t0,
    set phase(name: string) { phase = name; },
    async stop() {
      running = false;
      await loop;
      await admin.disconnect();
      return rows;
    },
  };
}

function printSecond(s: SpikeSample): void {
  const cores = ['nginx', 'api', 'kafka', 'toxiproxy', 'workers', 'streams', 'load generator', 'other']
    .map((k) => `${k} ${(s.cores[k] ?? 0).toFixed(2)}`).join(' ');
  console.log(`  ${String(s.second).padStart(3)}s ${s.phase.padEnd(6)} sent ${String(totalOf(s.tally)).padStart(5)}: ${shares(s.tally)} | cores ${cores} | lag ${s.lag ?? '?'}`);
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const root = mkdtempSync(join(tmpdir(), 'crm-spike-'));
  const work = join(root, 'vegeta');
  mkdirSync(work);
  console.log('# A 100× spike (bench/spike.ts)\n');
  console.log(`date        ${new Date(startedAt).toISOString()}; ${cpus().length} cores; load avg ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`clients     ${CLIENTS} IPs (${clientIp(0)}…${clientIp(CLIENTS - 1)}), one vegeta each (open loop)`);
  console.log(`phases      ${PHASES.map((p) => `${p.name} ${p.rate} req/s per IP (${int(p.rate * CLIENTS)} in all) for ${p.seconds} s`).join(', ')}`);
  console.log('limits      up\'s own: nginx NGINX_RATE/NGINX_BURST per IP, the API RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS per IP per replica');
  const bin = vegetaBin();
  let full: FullStack | undefined;
  let lost = -1;
  const accepted: string[] = [];
  const samples: SpikeSample[] = [];
  const phaseTallies = new Map<string, Tally>();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { full?.stop(); process.exit(130); });
  try {
    console.log(`\nStarting the stack with infra/up.ts (own ports, run folder ${join(root, 'full')})...`);
    full = await startFullStack(join(root, 'full'), { limits: {} });
    const loadgen: number[] = [];
    const sample = sampler(full, loadgen, loadConfig().CONSUMER_GROUP);
    const perSecond = new PerSecond(sample.t0);
    let next = 0;
    for (const phase of PHASES) {
      sample.phase = phase.name;
      const tally = emptyTally();
      phaseTallies.set(phase.name, tally);
      await Promise.all(Array.from({ length: CLIENTS }, (_, c) => vegetaAttack({
        bin, url: `${full!.nginxUrl}/track`, rate: phase.rate, durationS: phase.seconds, workDir: work,
        name: `${phase.name}-${clientIp(c)}`, localAddress: clientIp(c), timeoutS: 10,
        body: (i) => clientEvent(next + c * 1_000_000 + i),
        onResult: (code, sentAt, body) => {
          const outcome = outcomeOf(code, body);
          perSecond.add(sentAt, outcome);
          tally[outcome]++;
          if (outcome === '202') accepted.push((JSON.parse(body()) as { event_id: string }).event_id);
        },
      }, (pgid) => loadgen.push(pgid))));
      next += phase.rate * phase.seconds;
    }
    for (const row of await sample.stop()) samples.push({ ...row, tally: perSecond.between(row.second, row.second + 1) });
    console.log('\nPer second (requests by when they were sent; the phase is the one running when the second was sampled; "other": cores busy outside the stack):');
    samples.forEach(printSecond);
    lost = (await missingIds(full.brokers, TOPIC, accepted)).length;
  } catch (error) {
    console.log(`  the spike bench failed: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  } finally {
    full?.stop();
  }

  const byPhase: Record<string, Tally & { max_lag: number | null }> = {};
  console.log('\nPer phase:');
  for (const [name, tally] of phaseTallies) {
    // Samples are tagged with the phase running when they were taken.
    const rows = samples.filter((s) => s.phase === name);
    const lags = rows.map((s) => s.lag).filter((l): l is number => l !== undefined);
    const maxLag = lags.length ? Math.max(...lags) : null;
    byPhase[name] = { ...tally, max_lag: maxLag };
    const meanCores = (k: string) => (rows.reduce((sum, s) => sum + (s.cores[k] ?? 0), 0) / Math.max(1, rows.length)).toFixed(2);
    console.log(`  ${name.padEnd(6)} sent ${int(totalOf(tally))}: ${shares(tally)}; mean cores nginx ${meanCores('nginx')} api ${meanCores('api')} kafka ${meanCores('kafka')} workers ${meanCores('workers')} other ${meanCores('other')}; max lag ${maxLag ?? '?'}`);
  }
  const saturated = firstSaturation(samples, cpus().length);
  console.log(`\nFirst to saturate: ${saturated ? `${saturated.component} at ${saturated.second}s (${saturated.phase}): ${saturated.evidence}` : 'nothing (no process at 90 % of a core, no 503, lag never grew 3 s in a row, our processes under 90 % of the cores)'}`);
  console.log(`Check: ${int(accepted.length)} events answered 202, each looked up by event_id in ${TOPIC}: ${lost === 0 ? 'every one is stored' : lost < 0 ? 'not checked' : `${lost} LOST`}.`);
  if (lost === 0 && !KEEP) rmSync(root, { recursive: true, force: true });
  else console.log(`Logs and broker data kept in ${root}`);
  const summary = {
    clients: CLIENTS, base_rps_per_ip: BASE_RPS, spike_rps_per_ip: SPIKE_RPS, phases: byPhase,
    first_saturation: saturated ?? null, accepted: accepted.length, lost,
  };
  console.log(`SUMMARY ${JSON.stringify(summary)}`);
  if (lost !== 0) process.exitCode = 1;
}

await main();
