/**
 * `tsx bench/e2e-stages.ts`: phase 5 of `npm run bench` on its own (the stripped stack: Kafka, 3
 * replicas at LOG_LEVEL=warn, nginx; 2 lab 04 workers in a group starting at the topic's end;
 * `POST /track` evenly paced), with the time of each event split into stages: the client's send,
 * the API's spans (`x-trace-spans` on the 202), the worker's polled/processed/committed spans (its
 * `trace` lines, logged at LOG_LEVEL=debug: this run's workers log every event, which the bench's
 * do not). Also prints the bench's own figure (send → `processed_at`) and CPU per component.
 *
 * Settings: E2E_RATE (1000), E2E_SECONDS (20), E2E_WARMUP_S (3), E2E_WORKER_ENV (JSON, extra
 * worker environment, e.g. '{"TX_MAX_EVENTS":"100"}'), BENCH_KEEP=1 (keep the temp folder).
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../infra/processes.js';
import { startWorker, type WorkerProcess } from '../infra/worker.js';
import { ProfileStore } from '../labs/02-consumer-groups/src/profile-store.js';
import { createKafka } from '../shared/kafka.js';
import { consumerLag, totalLag } from '../shared/lag.js';
import { pacedLoad } from '../shared/paced-load.js';
import { waitForStableGroup } from '../shared/testing/groups.js';
import { nowMs, parseSpans } from '../shared/trace.js';
import { backgroundLoad, cpuShare, cpuSnapshot, fmtCpu } from './cpu.js';
import { envNumber } from './env.js';
import { stageBreakdown, type EventStamps } from './e2e/stage-breakdown.js';
import { clientEvent } from './phases.js';
import { startStrippedStack } from './stacks.js';
import { latencyOf } from './stats.js';

const RATE = envNumber('E2E_RATE', 1_000);
const SECONDS = envNumber('E2E_SECONDS', 20);
const WARMUP_S = process.env.E2E_WARMUP_S === '0' ? 0 : envNumber('E2E_WARMUP_S', 3);
const WORKER_ENV = JSON.parse(process.env.E2E_WORKER_ENV ?? '{}') as Record<string, string>;
const TOPIC = 'crm-events';
const GROUP = 'bench-e2e';

const root = mkdtempSync(join(tmpdir(), 'crm-e2e-stages-'));
const before = await backgroundLoad();
console.log(`e2e stages: ${RATE}/s for ${SECONDS} s (warm-up ${WARMUP_S} s); worker env ${JSON.stringify(WORKER_ENV)}; machine busy before: ${before.busy.toFixed(2)} cores; folder ${root}`);

const stack = await startStrippedStack(root, TOPIC, {});
const admin = createKafka(stack.kafka.brokers, 'crm-e2e-stages').admin();
await admin.connect();
let workers: WorkerProcess[] = [];
let ok = false;
try {
  const ends = await admin.fetchTopicOffsets(TOPIC);
  await admin.setOffsets({ groupId: GROUP, topic: TOPIC, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
  const profileDb = join(root, 'e2e-profiles.db');
  workers = ['worker-1', 'worker-2'].map((id) => startWorker({
    id, kind: 'with-dlq', brokers: stack.kafka.brokers, profileDb, logDir: join(root, 'logs'),
    env: { KAFKA_TOPIC: TOPIC, CONSUMER_GROUP: GROUP, KAFKA_RETRY_TOPIC: `${GROUP}-retry`, KAFKA_DLQ_TOPIC: `${GROUP}-dlq`, LOG_LEVEL: 'debug', ...WORKER_ENV },
  }));
  await waitForStableGroup(admin, GROUP, TOPIC, 2);
  if (WARMUP_S > 0) await pacedLoad({ url: stack.nginx.url, path: '/track', rate: RATE, durationS: WARMUP_S, connections: 50, body: (i) => JSON.stringify(clientEvent(i)) });

  const stamps = new Map<string, EventStamps>();
  const sentAt = new Map<number, number>();
  const groups = { ...stack.groups(), workers: workers.map((w) => w.process.pid) };
  const cpuBefore = cpuSnapshot();
  const load = await pacedLoad({
    url: stack.nginx.url, path: '/track', rate: RATE, durationS: SECONDS, connections: 50,
    body: (i) => {
      sentAt.set(i, nowMs());
      return JSON.stringify(clientEvent(i));
    },
    onAnswer: (i, answer) => {
      if (answer.status !== 202 || !answer.body) return;
      const spans = parseSpans(String(answer.headers?.['x-trace-spans'] ?? ''));
      stamps.set(JSON.parse(answer.body).event_id, { client_sent: sentAt.get(i)!, client_response: nowMs(), ...spans });
    },
  });
  await waitFor('the workers to catch up', async () => (totalLag(await consumerLag(admin, GROUP, TOPIC)) === 0 ? true : undefined), { timeoutMs: 120_000, intervalMs: 50 });
  const cpu = cpuShare(cpuBefore, cpuSnapshot(), groups);
  await Promise.all(workers.map((w) => w.process.stop(30_000)));

  for (const w of workers) {
    for (const line of readFileSync(w.process.logFile, 'utf8').split('\n')) {
      if (!line.includes('"msg":"trace"')) continue;
      const t = JSON.parse(line) as { event_id?: string; spans: Partial<EventStamps> };
      const s = t.event_id ? stamps.get(t.event_id) : undefined;
      if (s) Object.assign(s, t.spans);
    }
  }
  const store = new ProfileStore(profileDb);
  const processedAt = new Map((store.db.prepare('SELECT event_id, processed_at FROM processed_events').all() as { event_id: string; processed_at: string }[])
    .map((r) => [r.event_id, Date.parse(r.processed_at)]));
  store.close();
  const benchFigure = latencyOf([...stamps].flatMap(([id, s]) => (processedAt.has(id) ? [processedAt.get(id)! - s.client_sent] : [])));

  const after = await backgroundLoad();
  console.log(`sent ${load.sent}, 202: ${load.ok}, achieved ${load.achievedRate.toFixed(0)}/s; with worker spans: ${[...stamps.values()].filter((s) => s.worker_committed !== undefined).length}`);
  console.log(`the bench's figure (send → processed_at, ms): p50 ${benchFigure.p50.toFixed(0)} p95 ${benchFigure.p95.toFixed(0)} p99 ${benchFigure.p99.toFixed(0)} max ${benchFigure.max.toFixed(0)}`);
  console.log(`CPU, cores: ${fmtCpu(cpu)}; machine busy after: ${after.busy.toFixed(2)} cores`);
  console.log('\n| stage | events | p50 ms | p90 ms | p99 ms | max ms |\n|---|---|---|---|---|---|');
  for (const r of stageBreakdown([...stamps.values()])) {
    console.log(`| ${r.name} | ${r.events} | ${r.p50.toFixed(1)} | ${r.p90.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} |`);
  }
  ok = true;
} finally {
  await Promise.all(workers.map((w) => w.process.stop().catch(() => undefined)));
  await admin.disconnect();
  await stack.stop();
  if (ok && process.env.BENCH_KEEP !== '1') rmSync(root, { recursive: true, force: true });
  else console.log(`kept ${root}`);
}
