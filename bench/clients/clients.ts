/**
 * `npm run bench:clients`: the same workload from three Node Kafka clients to one broker —
 * kafkajs (the lab's client), @confluentinc/kafka-javascript (librdkafka) and @platformatic/kafka
 * (pure TypeScript) — with acks=all and idempotence on, in three phases each (workload.ts PHASES:
 * 1 message per send one at a time, 1 message per send 50 concurrent, 100 messages per send 4
 * concurrent). Each phase writes its own topic (2 partitions), which is then read back: every acked
 * message is looked up (judge.ts), because a fast client that loses acked events is no answer.
 * Prints a table and, last, one line `SUMMARY {json}`. Timings are printed, never asserted.
 *
 * The two compared clients are installed outside the repo by install.sh (cached-packages.ts).
 * The broker is this bench's own (infra/kafka.ts), on free ports, stopped at the end whatever happens.
 *
 * Settings (environment): BENCH_DURATION_S (10) per phase, BENCH_WARMUP_S (3) per client,
 * BENCH_CLIENTS (kafkajs,confluent,platformatic), BENCH_KEEP=1 keeps the broker's data folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { startKafka, type KafkaBroker } from '../../infra/kafka.js';
import { backgroundLoad } from '../cpu.js';
import { figure, int, ms } from '../stats.js';
import type { BenchClient } from './bench-producer.js';
import { confluentClient } from './confluent-producer.js';
import { judge, type Verdict } from './judge.js';
import { kafkajsClient } from './kafkajs-producer.js';
import { platformaticClient } from './platformatic-producer.js';
import { runPhase, type PhaseRun } from './run-phase.js';
import { readStored, type StoredCopies } from './stored.js';
import { createTopics } from './topics.js';
import { PHASES, type PhaseSpec } from './workload.js';
import { envNumber } from '../env.js';

process.env.KAFKAJS_LOG_LEVEL ??= 'nothing';

const ALL_CLIENTS = [kafkajsClient, confluentClient, platformaticClient];
const DURATION_S = envNumber('BENCH_DURATION_S', 10);
const WARMUP_S = envNumber('BENCH_WARMUP_S', Math.min(3, DURATION_S));
const KEEP = process.env.BENCH_KEEP === '1';
const PARTITIONS = 2;
const WARMUP: PhaseSpec = { slug: 'warm-up', label: 'warm-up', concurrency: 50, messagesPerSend: 1 };

function selectedClients(): BenchClient[] {
  const wanted = (process.env.BENCH_CLIENTS ?? ALL_CLIENTS.map((c) => c.slug).join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((slug) => !ALL_CLIENTS.some((c) => c.slug === slug));
  if (unknown.length > 0) throw new Error(`BENCH_CLIENTS: unknown client(s) ${unknown.join(', ')}; known: ${ALL_CLIENTS.map((c) => c.slug).join(', ')}`);
  return ALL_CLIENTS.filter((c) => wanted.includes(c.slug));
}

const topicOf = (client: BenchClient, phase: PhaseSpec) => `bench-clients-${client.slug}-${phase.slug}`;

interface Result {
  run: PhaseRun;
  stored: StoredCopies;
  verdict: Verdict;
}

async function benchClient(client: BenchClient, kafka: KafkaBroker): Promise<PhaseRun[]> {
  const brokerPgid = kafka.process.pid;
  await runPhase({ client, brokers: kafka.brokers, topic: topicOf(client, WARMUP), phase: WARMUP, durationS: WARMUP_S, brokerPgid });
  const runs: PhaseRun[] = [];
  for (const phase of PHASES) {
    const run = await runPhase({ client, brokers: kafka.brokers, topic: topicOf(client, phase), phase, durationS: DURATION_S, brokerPgid });
    console.log(`  ${run.client}, ${phase.label}: ${int(run.rate)} events/s, p50 ${ms(run.latency.p50)} ms, p99 ${ms(run.latency.p99)} ms, `
      + `${run.failedSends} failed sends${run.errorSamples.length ? ` (${run.errorSamples.join(' | ')})` : ''}; `
      + `CPU cores: broker ${run.cpu.broker.toFixed(2)}, bench ${run.cpu.bench.toFixed(2)}, other ${run.cpu.other.toFixed(2)}`);
    runs.push(run);
  }
  return runs;
}

function printTable(results: Result[]): void {
  console.log(`\n## Results (acks=all, idempotence on; ${DURATION_S} s per phase; CPU in cores of ${cpus().length})\n`);
  console.log('| client | phase | events/s | p50 ms | p99 ms | failed sends | acked | stored | lost | duplicated | broker CPU | bench CPU | other CPU |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const { run, verdict } of results) {
    console.log(`| ${run.client} | ${run.phase.label} | ${int(run.rate)} | ${ms(run.latency.p50)} | ${ms(run.latency.p99)} | ${int(run.failedSends)} | `
      + `${int(verdict.acked)} | ${int(verdict.stored)} | ${int(verdict.lost)} | ${int(verdict.duplicated)} | `
      + `${run.cpu.broker.toFixed(2)} | ${run.cpu.bench.toFixed(2)} | ${run.cpu.other.toFixed(2)} |`);
  }
  console.log('\nSettings beyond each client\'s defaults:');
  for (const run of new Map(results.map((r) => [r.run.client, r.run])).values()) console.log(`  ${run.client}: ${run.settings}`);
  const odd = results.filter((r) => r.verdict.lost || r.verdict.failedButStored || r.verdict.unexpected || r.stored.foreign || r.stored.misplaced || r.run.ledger.unanswered);
  for (const { run, verdict, stored } of odd) {
    console.log(`  ${run.client}, ${run.phase.label}: lost ${verdict.lost} (e.g. seq ${verdict.lostSample.join(', ')}), failed but stored ${verdict.failedButStored}, `
      + `unanswered ${run.ledger.unanswered}, unexpected ${verdict.unexpected}, foreign ${stored.foreign}, on another partition than murmur2's ${stored.misplaced}`);
  }
}

function summary(results: Result[], failures: Record<string, string>) {
  return {
    duration_s: DURATION_S,
    phases: results.map(({ run, verdict, stored }) => ({
      client: run.client, phase: run.phase.slug, events_per_s: figure(run.rate), p50_ms: figure(run.latency.p50), p99_ms: figure(run.latency.p99),
      sends: run.sends, failed_sends: run.failedSends, acked: verdict.acked, stored: verdict.stored, lost: verdict.lost,
      duplicated: verdict.duplicated, failed_but_stored: verdict.failedButStored, unanswered: run.ledger.unanswered, misplaced: stored.misplaced,
      cpu_broker: figure(run.cpu.broker), cpu_bench: figure(run.cpu.bench), cpu_other: figure(run.cpu.other),
    })),
    client_failures: failures,
  };
}

async function main(): Promise<void> {
  const clients = selectedClients();
  const startedAt = Date.now();
  const root = mkdtempSync(join(tmpdir(), 'crm-bench-clients-'));
  console.log('# Node Kafka clients, same workload, same broker (bench/clients/clients.ts)\n');
  console.log(`date        ${new Date(startedAt).toISOString()}`);
  console.log(`machine     ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}`);
  console.log(`load avg    ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1/5/15 min) before starting`);
  const idle = await backgroundLoad();
  console.log(`background  ${idle.busy.toFixed(2)} of ${cpus().length} cores busy over 2 s before the bench started anything (the "other CPU" column is the load during each phase)`);
  console.log(`phases      ${PHASES.map((p) => p.label).join('; ')}; ${DURATION_S} s each (BENCH_DURATION_S), after a ${WARMUP_S} s warm-up per client`);
  console.log(`clients     ${clients.map((c) => c.slug).join(', ')} (BENCH_CLIENTS)`);

  const results: Result[] = [];
  const failures: Record<string, string> = {};
  let kafka: KafkaBroker | undefined;
  try {
    kafka = await startKafka({ dataDir: join(root, 'kafka'), defaultPartitions: PARTITIONS });
    console.log(`broker      Kafka on ${kafka.brokers.join(',')} (data in ${root})`);
    await createTopics(kafka.brokers, clients.flatMap((c) => [WARMUP, ...PHASES].map((p) => topicOf(c, p))), PARTITIONS);
    console.log(`topics      ${clients.length * (PHASES.length + 1)} topics of ${PARTITIONS} partitions, one per client and phase\n`);
    for (const client of clients) {
      console.log(`${client.slug}:`);
      try {
        for (const run of await benchClient(client, kafka)) {
          const stored = await readStored(kafka.brokers, run.topic);
          results.push({ run, stored, verdict: judge(run.ledger, stored.copies) });
        }
      } catch (error) {
        // Reported, not hidden: the other clients still run, and the bench exits 1.
        failures[client.slug] = (error as Error).message;
        console.log(`  ${client.slug} failed: ${(error as Error).message}`);
        process.exitCode = 1;
      }
    }
  } finally {
    await kafka?.process.stop().catch(() => undefined);
  }

  printTable(results);
  console.log(`\nLoad avg after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; total ${((Date.now() - startedAt) / 1000).toFixed(0)} s.`);
  if (KEEP || process.exitCode) console.log(`Broker data kept in ${root}`);
  else rmSync(root, { recursive: true, force: true });
  console.log(`SUMMARY ${JSON.stringify(summary(results, failures))}`);
}

main().catch((error) => {
  console.error(JSON.stringify({ error: 'bench_failed', message: (error as Error).message }));
  process.exit(1);
});
