/**
 * Before and after, in one run: `npm run bench:api-ab -- [REV]` (default HEAD). One API replica of
 * lab 01 as it is at REV (a git worktree in a temp folder) and one of the working tree, each behind
 * its own nginx (same template, the bench's raised limits), on one broker, at LOG_LEVEL=info as `up`
 * runs them (AB_BASE_ENV / AB_WORK_ENV add settings to one side), loaded at the same time by two vegeta attacks at AB_RATE req/s (700: a third of 2,000)
 * for AB_SECONDS, AB_ROUNDS times. Both sides share the machine's noise, so the difference in CPU
 * per request is the change's, whatever else runs. Prints each side's replica CPU µs per accepted request (202),
 * nginx's, p50/p99 and statuses; last line `SUMMARY {json}`. Timings are printed, never asserted.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startApiReplica } from '../infra/api.js';
import { startKafka } from '../infra/kafka.js';
import { startNginx, type NginxServer } from '../infra/nginx.js';
import { repoRoot } from '../infra/paths.js';
import type { ManagedProcess } from '../infra/processes.js';
import { cpuSecondsByGroup, cpuSnapshot, backgroundLoad } from './cpu.js';
import { envNumber } from './env.js';
import { clientEvent } from './phases.js';
import { BENCH_LIMITS } from './stacks.js';
import { figure, int, ms } from './stats.js';
import { vegetaAttack, vegetaBin, type VegetaResult } from './vegeta/attack.js';

process.env.KAFKAJS_LOG_LEVEL ??= 'nothing';
const REV = process.argv[2] ?? 'HEAD';
const RATE = envNumber('AB_RATE', 700);
const SECONDS = envNumber('AB_SECONDS', 20);
const ROUNDS = envNumber('AB_ROUNDS', 2);
/** Settings for one side only, `K=V,K=V`: e.g. AB_WORK_ENV=PRODUCER_LINGER_MS=5 with REV=HEAD compares a setting, not code. */
const envOf = (name: string): Record<string, string> =>
  Object.fromEntries((process.env[name] ?? '').split(',').filter(Boolean).map((kv) => kv.split('=', 2) as [string, string]));
const BASE_ENV = envOf('AB_BASE_ENV');
const WORK_ENV = envOf('AB_WORK_ENV');

interface Side { name: string; replica: ManagedProcess; nginx: NginxServer }

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'crm-api-ab-'));
  const tree = join(root, 'base');
  const logDir = join(root, 'logs');
  mkdirSync(logDir);
  execFileSync('git', ['worktree', 'add', '--detach', tree, REV], { cwd: repoRoot, stdio: 'ignore' });
  symlinkSync(join(repoRoot, 'node_modules'), join(tree, 'node_modules'));
  const rev = execFileSync('git', ['rev-parse', '--short', REV], { cwd: repoRoot, encoding: 'utf8' }).trim();
  const idle = await backgroundLoad();
  console.log(`# API replica, ${rev} vs the working tree, side by side (bench/api-ab.ts)\n`);
  console.log(`settings: ${rev} ${JSON.stringify(BASE_ENV)}, working tree ${JSON.stringify(WORK_ENV)}`);
  console.log(`${new Date().toISOString()}; ${RATE} req/s to each for ${SECONDS} s, ${ROUNDS} rounds; background ${idle.busy.toFixed(2)} cores busy before the start`);
  const stops: (() => Promise<unknown>)[] = [];
  const results: Record<string, { load: VegetaResult; replicaUs: number; nginxUs: number }[]> = { [rev]: [], 'working tree': [] };
  try {
    const kafka = await startKafka({ dataDir: join(root, 'kafka') });
    stops.push(() => kafka.process.stop());
    // REV's replica, started exactly as the working tree's (its entry is the worktree's server.ts).
    const base = await startApiReplica({ id: 'api-base', brokers: kafka.brokers, logDir, env: { ...BENCH_LIMITS, LOG_LEVEL: 'info', ...BASE_ENV },
      entry: relative(repoRoot, join(tree, 'labs/01-ingest/src/server.ts')) });
    stops.push(() => base.process.stop());
    const work = await startApiReplica({ id: 'api-work', brokers: kafka.brokers, logDir, env: { ...BENCH_LIMITS, LOG_LEVEL: 'info', ...WORK_ENV } });
    stops.push(() => work.process.stop());
    const edge = async (name: string, port: number) => {
      const nginx = await startNginx({ upstreams: [`127.0.0.1:${port}`], rate: Number(BENCH_LIMITS.NGINX_RATE), burst: Number(BENCH_LIMITS.NGINX_BURST), prefix: join(root, `nginx-${name}`) });
      stops.push(() => nginx.process.stop());
      return nginx;
    };
    const sides: Side[] = [
      { name: rev, replica: base.process, nginx: await edge('base', base.port) },
      { name: 'working tree', replica: work.process, nginx: await edge('work', work.port) },
    ];
    const bin = vegetaBin();
    const attack = (side: Side, name: string, rate: number, durationS: number) => vegetaAttack({
      bin, url: `${side.nginx.url}/track`, rate, durationS, workDir: root, name: `${name}-${side.name}`, body: (i) => clientEvent(i),
    });
    await Promise.all(sides.map((side) => attack(side, 'warm-up', RATE / 2, 5)));
    for (let round = 1; round <= ROUNDS; round++) {
      const before = cpuSnapshot();
      const loads = await Promise.all(sides.map((side) => attack(side, `round-${round}`, RATE, SECONDS)));
      const after = cpuSnapshot();
      const used = cpuSecondsByGroup(before, after, Object.fromEntries(sides.flatMap((s) => [[`${s.name} api`, [s.replica.pid]], [`${s.name} nginx`, [s.nginx.process.pid]]])));
      console.log(`\nround ${round} (machine ${(used.machine / used.windowS).toFixed(2)} cores busy):`);
      sides.forEach((side, i) => {
        const load = loads[i]!;
        // Per event stored (202): a request shed with a 503 costs little and stores nothing.
        const n = Math.max(1, load.accepted.length);
        const row = { load, replicaUs: (used.byName[`${side.name} api`]! * 1e6) / n, nginxUs: (used.byName[`${side.name} nginx`]! * 1e6) / n };
        results[side.name]!.push(row);
        console.log(`  ${side.name.padEnd(12)} replica ${int(row.replicaUs)} µs per 202, nginx ${int(row.nginxUs)}; p50 ${ms(load.latency.p50)} p99 ${ms(load.latency.p99)} ms; `
          + `${Object.entries(load.statuses).map(([c, k]) => `${c}×${k}`).join(' ')}${load.errors ? `, no answer ${load.errors}` : ''}`);
      });
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: repoRoot, stdio: 'ignore' });
    rmSync(root, { recursive: true, force: true });
  }
  const mean = (rows: { replicaUs: number }[]) => rows.reduce((s, r) => s + r.replicaUs, 0) / Math.max(1, rows.length);
  const baseUs = mean(results[rev]!);
  const workUs = mean(results['working tree']!);
  console.log(`\nreplica CPU per accepted request (202): ${rev} ${int(baseUs)} µs, working tree ${int(workUs)} µs (${((workUs / baseUs - 1) * 100).toFixed(0)} %)`);
  console.log(`SUMMARY ${JSON.stringify({ rev, rate: RATE, base_api_cpu_us_per_request: figure(baseUs), work_api_cpu_us_per_request: figure(workUs) })}`);
}

await main();
