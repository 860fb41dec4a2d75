/**
 * The whole-system benchmark: `npm run bench`. Prints each phase, two tables and, last, one line
 * `SUMMARY {json}` with the figures the targets are about. Timings are printed, never asserted.
 *
 * In one run, side by side:
 *  1. the broker alone: kafkajs with the API's producer settings (acks=all), one message per send
 *     (one at a time, then 50 concurrent), and 100 messages per send;
 *  2. nginx answering by itself (the machine's HTTP ceiling);
 *  3. the *stripped* ingest path (stacks.ts: own broker, 3 replicas at LOG_LEVEL=warn, nginx, no
 *     workers, no Toxiproxy), batching publisher (PRODUCER_LINGER_MS default): POST /track at
 *     maximum throughput (autocannon) and evenly paced at BENCH_TARGET_RATE; POST /batch;
 *  4. the same replicas restarted with PRODUCER_LINGER_MS=0 (one produce request per event, the
 *     lab's first design): POST /track at maximum throughput and paced;
 *  5. end to end at BENCH_E2E_RATE (1,000/s): client send → profile updated by 2 workers;
 *  6. Avro encoding on (lab 05, avro-phase.ts): encode/decode µs per event, JSON vs Avro; the same
 *     BENCH_AVRO_EVENTS (2,000) POSTs through lab 01's app writing JSON, then Avro (events/s, CPU per
 *     event); bytes per event, as record values and on the broker's disk;
 *  7. the *full* stack exactly as `npm run up` runs it (stacks.ts), paced at BENCH_TARGET_RATE for
 *     BENCH_FULL_S (30 s) by vegeta (bench/vegeta, installed on first use), with the workers' lag
 *     sampled every 250 ms.
 * Rate limits are raised by configuration (printed) so that nothing is refused. Every 202 is
 * then looked up in its topic by event_id; a lost one fails the bench (exit 1).
 * Every process it starts is stopped at the end, whatever happens.
 *
 * Settings (environment): BENCH_DURATION_S (10) per phase, BENCH_WARMUP_S (5), BENCH_CONNECTIONS
 * (50), BENCH_TARGET_RATE (2000), BENCH_E2E_RATE (1000), BENCH_FULL_S (30), BENCH_BATCH_SIZE (100
 * events per /batch request), BENCH_AVRO_EVENTS (2000), BENCH_AVRO_CODEC_EVENTS (20000), BENCH_KEEP=1
 * keeps the temp folder (broker data, logs).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createKafka, ensureTopic } from '../shared/kafka.js';
import { missingIds } from './missing-ids.js';
import { waitForStableGroup } from '../shared/testing/groups.js';
import { startWorker, type WorkerProcess } from '../infra/worker.js';
import { ProfileStore } from '../labs/02-consumer-groups/src/profile-store.js';
import type { AvroCost } from '../labs/05-schema-evolution/bench/avro-measure.js';
import { avroPhase, avroSummary } from './avro-phase.js';
import { backgroundLoad } from './cpu.js';
import { acceptedIds, clientEvent, endToEndPhase, maxHttpPhase, pacedTrackPhase, producerPhase, replicaCpuMsPer, results, vegetaTrackPhase, type PhaseResult } from './phases.js';
import { vegetaBin } from './vegeta/attack.js';
import { BENCH_LIMITS, startFullStack, startStrippedStack, type FullStack, type StrippedStack } from './stacks.js';
import { figure, int, ms } from './stats.js';
import { envNumber } from './env.js';

// The group-coordinator errors kafkajs logs while a new consumer group settles are noise here.
process.env.KAFKAJS_LOG_LEVEL ??= 'nothing';

const DURATION_S = envNumber('BENCH_DURATION_S', 10);
const WARMUP_S = envNumber('BENCH_WARMUP_S', Math.min(5, DURATION_S));
const CONNECTIONS = Math.round(envNumber('BENCH_CONNECTIONS', 50));
const TARGET_RATE = Math.round(envNumber('BENCH_TARGET_RATE', 2_000));
const E2E_RATE = Math.round(envNumber('BENCH_E2E_RATE', 1_000));
const FULL_S = envNumber('BENCH_FULL_S', 30);
const BATCH_SIZE = Math.round(envNumber('BENCH_BATCH_SIZE', 100));
const AVRO_EVENTS = Math.round(envNumber('BENCH_AVRO_EVENTS', 2_000));
const AVRO_CODEC_EVENTS = Math.round(envNumber('BENCH_AVRO_CODEC_EVENTS', 20_000));
const KEEP = process.env.BENCH_KEEP === '1';
const TOPIC = 'crm-events';
const RAW_TOPIC = 'bench-raw-producer';
const STRIPPED = 'stripped';
const FULL = 'full stack (npm run up)';

/** Fixed bodies cycling over user_ids, for autocannon (which repeats them on each connection). */
const trackBodies = Array.from({ length: 100 }, (_, i) => JSON.stringify(clientEvent(i)));
const batchBodies = Array.from({ length: 10 }, (_, b) => JSON.stringify(Array.from({ length: BATCH_SIZE }, (_, i) => clientEvent(b * BATCH_SIZE + i))));
const trackAccepted = (body: string) => [JSON.parse(body).event_id as string];
/** /batch answers 202 with the accepted events' ids (labs/01-ingest/README.md, POST /batch). */
const batchAccepted = (body: string) => (JSON.parse(body).accepted as { event_id: string }[]).map((a) => a.event_id);

async function strippedPhases(stack: StrippedStack): Promise<void> {
  const url = stack.nginx.url;
  const groups = stack.groups;
  const replicaUrls = () => stack.replicas.map((r) => r.url);
  console.log(`\n3. The stripped ingest path, batching publisher (PRODUCER_LINGER_MS default), after a ${WARMUP_S} s warm-up`);
  await maxHttpPhase({ name: 'warm-up', stack: STRIPPED, url, path: '/track', bodies: trackBodies, connections: CONNECTIONS, durationS: WARMUP_S, groups: groups(), quiet: true });
  await maxHttpPhase({ name: 'POST /track via nginx, batched, max', stack: STRIPPED, url, path: '/track', bodies: trackBodies,
    connections: CONNECTIONS, durationS: DURATION_S, groups: groups(), acceptedIn: trackAccepted, replicaUrls: replicaUrls() });
  await pacedTrackPhase({ name: `POST /track via nginx, batched, ${int(TARGET_RATE)} req/s`, stack: STRIPPED, url, rate: TARGET_RATE,
    durationS: DURATION_S, connections: CONNECTIONS, groups: groups(), replicaUrls: replicaUrls() });
  await maxHttpPhase({ name: `POST /batch via nginx (${BATCH_SIZE} events), max`, stack: STRIPPED, url, path: '/batch', bodies: batchBodies,
    connections: 10, durationS: DURATION_S, groups: groups(), eventsPerRequest: BATCH_SIZE, acceptedIn: batchAccepted, replicaUrls: replicaUrls() });

  console.log('\n4. The same replicas restarted with PRODUCER_LINGER_MS=0: one produce request per event (the first design)');
  await stack.restartReplicas({ PRODUCER_LINGER_MS: '0', KAFKA_PRODUCER_IDEMPOTENT: 'false' });
  await maxHttpPhase({ name: 'warm-up', stack: STRIPPED, url, path: '/track', bodies: trackBodies, connections: CONNECTIONS, durationS: WARMUP_S, groups: groups(), quiet: true });
  await maxHttpPhase({ name: 'POST /track via nginx, unbatched, max', stack: STRIPPED, url, path: '/track', bodies: trackBodies,
    connections: CONNECTIONS, durationS: DURATION_S, groups: groups(), acceptedIn: trackAccepted, replicaUrls: replicaUrls() });
  await pacedTrackPhase({ name: `POST /track via nginx, unbatched, ${int(TARGET_RATE)} req/s`, stack: STRIPPED, url, rate: TARGET_RATE,
    durationS: DURATION_S, connections: CONNECTIONS, groups: groups(), replicaUrls: replicaUrls() });
  await stack.restartReplicas({});
}

/** Phase 5: two lab 04 workers on the stripped stack's broker, in a group that starts at the topic's end. */
async function endToEnd(stack: StrippedStack, root: string): Promise<void> {
  console.log(`\n5. End to end: POST /track through nginx at ${int(E2E_RATE)}/s, applied by 2 workers to the profile store`);
  const brokers = stack.kafka.brokers;
  const groupId = 'bench-e2e';
  const admin = createKafka(brokers, 'crm-bench-e2e').admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(TOPIC);
  await admin.setOffsets({ groupId, topic: TOPIC, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
  const profileDb = join(root, 'e2e-profiles.db');
  const workers: WorkerProcess[] = ['worker-1', 'worker-2'].map((id) => startWorker({
    id, kind: 'with-dlq', brokers, profileDb, logDir: join(root, 'logs'),
    env: { KAFKA_TOPIC: TOPIC, CONSUMER_GROUP: groupId, KAFKA_RETRY_TOPIC: `${groupId}-retry`, KAFKA_DLQ_TOPIC: `${groupId}-dlq` },
  }));
  const store = new ProfileStore(profileDb);
  try {
    await waitForStableGroup(admin, groupId, TOPIC, 2);
    // The replicas were restarted after phase 4: without a warm-up they start cold, fall behind the
    // open-loop load, and the phase measures that queue in front of the API, not the pipeline (bench/e2e-stages.ts).
    await pacedTrackPhase({ name: 'warm-up', stack: STRIPPED, url: stack.nginx.url, rate: E2E_RATE, durationS: WARMUP_S,
      connections: CONNECTIONS, groups: stack.groups(), quiet: true });
    await endToEndPhase({
      name: 'end to end: client send → profile updated', stack: STRIPPED, url: stack.nginx.url, rate: E2E_RATE, durationS: DURATION_S,
      connections: CONNECTIONS, groups: { ...stack.groups(), workers: workers.map((w) => w.process.pid) },
      lag: { brokers, groupId, topic: TOPIC }, replicaUrls: stack.replicas.map((r) => r.url),
      processedAt: () => new Map(store.db.prepare('SELECT event_id, processed_at FROM processed_events').all()
        .map((r) => [(r as { event_id: string }).event_id, Date.parse((r as { processed_at: string }).processed_at)])),
    });
  } finally {
    store.close();
    await Promise.all(workers.map((w) => w.process.stop().catch(() => undefined)));
    await admin.disconnect();
  }
}

async function fullStackPhase(root: string): Promise<FullStack> {
  console.log(`\n7. The full stack, started by infra/up.ts as \`npm run up\` runs it (own ports, run folder ${join(root, 'full')})`);
  const full = await startFullStack(join(root, 'full'));
  console.log(full.upOutput.split('\n').filter((l) => /^\s+(kafka|toxiproxy|api-|worker-|nginx)/.test(l)).join('\n'));
  // vegeta, not this process: the load generator must not eat the budget of the stack it measures (bench:budget has the per-stage table).
  const bin = vegetaBin();
  const workDir = join(root, 'vegeta');
  mkdirSync(workDir, { recursive: true });
  await vegetaTrackPhase({ name: 'warm-up', stack: FULL, url: full.nginxUrl, rate: TARGET_RATE / 4, durationS: WARMUP_S, groups: full.groups, bin, workDir, quiet: true });
  await vegetaTrackPhase({ name: `POST /track via nginx, ${int(TARGET_RATE)} req/s, ${FULL_S} s`, stack: FULL, url: full.nginxUrl, rate: TARGET_RATE,
    durationS: FULL_S, groups: full.groups, bin, workDir, lag: { brokers: full.brokers, groupId: 'crm-event-processors', topic: TOPIC },
    replicaUrls: full.apiUrls });
  return full;
}

/** Every event_id a client got a 202 for (since the last check), looked up in the stack's topic. */
async function checkStored(brokers: string[]): Promise<number> {
  const lost = await missingIds(brokers, TOPIC, acceptedIds);
  console.log(`\nCheck: ${int(acceptedIds.size)} events answered 202, each looked up by event_id in ${TOPIC}: ${lost.length === 0 ? 'every one is stored' : `${lost.length} LOST, e.g. ${lost.slice(0, 3).join(', ')}`}.`);
  return lost.length;
}

function printTables(): void {
  console.log('\n## Results\n');
  console.log('| phase | stack | target | concurrency | throughput | p50 ms | p95 ms | p99 ms | max ms | non-2xx | errors | max lag |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.name} | ${r.stack} | ${r.target} | ${r.concurrency} | ${int(r.rate)} ${r.unit} | ${ms(r.latency.p50)} | ${ms(r.latency.p95)} | ${ms(r.latency.p99)} | ${ms(r.latency.max)} | ${r.non2xx} | ${r.errors} | ${r.maxLag === undefined ? '–' : int(r.maxLag)} |`);
  }
  console.log('\nHow well requests shared produce requests, and what the replicas spent per request:\n');
  console.log('| phase | events per produce request | replicas\' CPU ms per request or event |');
  console.log('|---|---|---|');
  for (const r of results.filter((p) => p.eventsPerProduce !== undefined)) {
    console.log(`| ${r.name} | ${r.eventsPerProduce!.toFixed(1)} | ${replicaCpuMsPer(r).toFixed(2)} |`);
  }
  console.log(`\nCPU during each phase, in cores (this machine has ${cpus().length}):\n`);
  console.log('| phase | kafka | api ×3 | nginx | workers | toxiproxy | load generator | other processes |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const c = r.cpu;
    console.log(`| ${r.name} | ${c.kafka.toFixed(2)} | ${c.api.toFixed(2)} | ${c.nginx.toFixed(2)} | ${c.workers.toFixed(2)} | ${c.toxiproxy.toFixed(2)} | ${c.loadgen.toFixed(2)} | ${c.other.toFixed(2)} |`);
  }
}

function summary(lost: number, avro: AvroCost | undefined): Record<string, number | null> {
  const find = (name: string) => results.find((r) => r.name === name);
  const rate = (r?: PhaseResult) => figure(r?.rate);
  const pacedBatched = find(`POST /track via nginx, batched, ${int(TARGET_RATE)} req/s`);
  const full = results.find((r) => r.stack === FULL && r.name !== 'warm-up');
  return {
    p99_ms_at_2000: figure(pacedBatched?.latency.p99),
    achieved_rps_at_2000: rate(pacedBatched),
    max_rps: rate(find('POST /track via nginx, batched, max')),
    max_rps_unbatched: rate(find('POST /track via nginx, unbatched, max')),
    batch_events_per_s: rate(find(`POST /batch via nginx (${BATCH_SIZE} events), max`)),
    raw_100_per_send_events_per_s: rate(find('kafkajs, 100 msgs/send')),
    e2e_p99_ms_at_1000: figure(find('end to end: client send → profile updated')?.latency.p99),
    full_stack_p99_ms_at_2000: figure(full?.latency.p99),
    full_stack_achieved_rps_at_2000: rate(full),
    full_stack_max_lag_at_2000: figure(full?.maxLag),
    // Beyond the issue's keys: the unbatched design's tail, and the machine's other load in the full-stack phase.
    p99_ms_at_2000_unbatched: figure(find(`POST /track via nginx, unbatched, ${int(TARGET_RATE)} req/s`)?.latency.p99),
    full_stack_other_load_cores: figure(full?.cpu.other),
    lost,
    ...avroSummary(avro),
  };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const root = mkdtempSync(join(tmpdir(), 'crm-bench-'));
  let stripped: StrippedStack | undefined;
  let full: FullStack | undefined;
  let lost = -1;
  let avro: AvroCost | undefined;

  console.log('# crm-event-lab bench (bench/bench.ts)\n');
  console.log(`date        ${startedAt.toISOString()}`);
  console.log(`machine     ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}`);
  console.log(`load avg    ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1/5/15 min) before starting`);
  const idle = await backgroundLoad();
  console.log(`background  ${idle.busy.toFixed(2)} of ${cpus().length} cores busy (steal ${idle.steal.toFixed(2)}) over 2 s before the bench started anything` +
    ' (see the "other processes" CPU column for the load during each phase)');
  console.log(`phases      ${DURATION_S} s (BENCH_DURATION_S), warm-ups ${WARMUP_S} s, ${CONNECTIONS} connections, paced target ${int(TARGET_RATE)} req/s, ` +
    `end to end ${int(E2E_RATE)}/s, full stack ${FULL_S} s`);
  console.log(`limits      raised so that nothing is refused (lab defaults: nginx 20 r/s burst 50, API 100 req/min): ${Object.entries(BENCH_LIMITS).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  console.log(`temp folder ${root}${KEEP ? ' (kept: BENCH_KEEP=1)' : ' (removed at the end unless the bench fails)'}`);

  try {
    console.log('\nStarting the stripped stack (Kafka, 3 API replicas, nginx) on free ports...');
    stripped = await startStrippedStack(root, TOPIC, {});
    const brokers = stripped.kafka.brokers;
    await ensureTopic(createKafka(brokers, 'crm-bench-setup'), RAW_TOPIC, 2);

    console.log(`\n1. The broker alone: kafkajs, the API's producer settings, acks=all (after a ${WARMUP_S} s warm-up)`);
    const rawGroups = stripped.groups();
    await producerPhase({ name: 'warm-up', brokers, topic: RAW_TOPIC, producers: 1, concurrency: CONNECTIONS, batchSize: 1, durationS: WARMUP_S, groups: rawGroups, quiet: true });
    await producerPhase({ name: 'kafkajs, 1 msg/send, 1 at a time', brokers, topic: RAW_TOPIC, producers: 1, concurrency: 1, batchSize: 1, durationS: DURATION_S, groups: rawGroups });
    await producerPhase({ name: 'kafkajs, 1 msg/send, 50 concurrent', brokers, topic: RAW_TOPIC, producers: 1, concurrency: CONNECTIONS, batchSize: 1, durationS: DURATION_S, groups: rawGroups });
    await producerPhase({ name: 'kafkajs, 100 msgs/send', brokers, topic: RAW_TOPIC, producers: 1, concurrency: 4, batchSize: 100, durationS: DURATION_S, groups: rawGroups });

    console.log('\n2. nginx alone: GET /nginx-health (answered by nginx, no upstream)');
    await maxHttpPhase({ name: 'nginx GET /nginx-health', stack: STRIPPED, url: stripped.nginx.url, path: '/nginx-health', method: 'GET', bodies: [''],
      connections: CONNECTIONS, durationS: DURATION_S, groups: rawGroups });

    await strippedPhases(stripped);
    await endToEnd(stripped, root);
    const strippedBrokers = stripped.kafka.brokers;
    lost = await checkStored(strippedBrokers);
    acceptedIds.clear();

    console.log(`\n6. Avro encoding on (lab 05's codec through lab 01's app, a registry of its own): ${int(AVRO_EVENTS)} POSTs writing JSON, then Avro; bytes per event`);
    try {
      avro = await avroPhase({ kafka: stripped.kafka, root, events: AVRO_EVENTS, codecEvents: AVRO_CODEC_EVENTS });
    } catch (error) {
      // Reported, not hidden: the SUMMARY then has null avro/json figures and the bench exits 1.
      console.log(`  the Avro phase failed: ${(error as Error).message}`);
      process.exitCode = 1;
    }
    await stripped.stop();
    stripped = undefined;

    try {
      full = await fullStackPhase(root);
      lost += await checkStored(full.brokers);
    } catch (error) {
      // Reported, not hidden: the SUMMARY then has null full_stack_* figures and the bench exits 1.
      console.log(`  the full stack failed: ${(error as Error).message}`);
      process.exitCode = 1;
    }
  } finally {
    full?.stop();
    await stripped?.stop();
  }

  printTables();
  const s = summary(lost, avro);
  console.log('\nTargets (benchmarks, not tests):');
  const check = (label: string, met: boolean, detail: string) => console.log(`  ${met ? 'MET    ' : 'NOT MET'} ${label}: ${detail}`);
  check('p99 < 10 ms at 2,000 req/s through nginx', (s.p99_ms_at_2000 ?? Infinity) < 10 && (s.achieved_rps_at_2000 ?? 0) >= 0.95 * TARGET_RATE,
    `p99 ${s.p99_ms_at_2000} ms at ${s.achieved_rps_at_2000} req/s`);
  check('max_rps ≥ 2 × max_rps_unbatched', (s.max_rps ?? 0) >= 2 * (s.max_rps_unbatched ?? Infinity), `${s.max_rps} vs ${s.max_rps_unbatched} req/s`);
  check('batch_events_per_s ≥ 0.5 × raw_100_per_send_events_per_s', (s.batch_events_per_s ?? 0) >= 0.5 * (s.raw_100_per_send_events_per_s ?? Infinity),
    `${s.batch_events_per_s} vs ${s.raw_100_per_send_events_per_s} events/s`);
  check('end to end p99 < 100 ms at 1,000 events/s', (s.e2e_p99_ms_at_1000 ?? Infinity) < 100, `p99 ${s.e2e_p99_ms_at_1000} ms`);
  check('full stack holds 2,000 req/s with p99 < 20 ms and lag < 10,000', (s.full_stack_p99_ms_at_2000 ?? Infinity) < 20
    && (s.full_stack_achieved_rps_at_2000 ?? 0) >= 0.95 * TARGET_RATE && (s.full_stack_max_lag_at_2000 ?? Infinity) < 10_000,
  `p99 ${s.full_stack_p99_ms_at_2000} ms at ${s.full_stack_achieved_rps_at_2000} req/s, max lag ${s.full_stack_max_lag_at_2000}, other load ${s.full_stack_other_load_cores} cores`);
  console.log(`Load avg after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; total ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s.`);
  if (lost === 0 && !KEEP) rmSync(root, { recursive: true, force: true });
  else console.log(`Logs and broker data kept in ${root}`);
  console.log(`SUMMARY ${JSON.stringify(s)}`);
  if (lost !== 0) process.exitCode = 1;
}

await main();
