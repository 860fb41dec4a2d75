/**
 * `npm run bench:worker`: events/s of real worker processes (lab 02's, as `npm run up` logs them:
 * LOG_LEVEL=info to a file), on their own Kafka broker (free ports, never `npm run up`'s).
 *
 * Phase 1: one worker; phase 2: two workers of one group (2 partitions: the two compete for the
 * same cores, with Kafka, as in the system a learner runs). Once the group is stable, the events
 * are produced (1,000 per send) and the workers drain them.
 * A worker's rate is its events over the time between its first and its last processed event
 * (`processed_events.processed_at`), so the process start and the group join are not counted.
 * Its CPU per event (user + system time of its process group, from /proc, while it drains) is the
 * figure that does not depend on what else the machine is doing; the rates do.
 * BENCH_EVENTS (default 30000) per phase.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafka } from '../../../infra/kafka.js';
import { waitFor } from '../../../infra/processes.js';
import { startWorker, type WorkerProcess } from '../../../infra/worker.js';
import { createEventProducer, createKafka, ensureTopic } from '../../../shared/kafka.js';
import { waitForStableGroup } from '../../../shared/testing/groups.js';
import { ProfileStore } from '../src/profile-store.js';
import { enrichedEvent } from '../test/events.js';

const count = Number(process.env.BENCH_EVENTS ?? 30_000);
const root = mkdtempSync(join(tmpdir(), 'worker-bench-'));

interface WorkerRate { worker: string; events: number; seconds: number; perSecond: number; cpuUsPerEvent?: number }

const CLK_TCK = 100; // Linux's USER_HZ: /proc times are in 1/100 s

/** CPU seconds (user + system) used so far by the processes of a process group. */
function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after "(comm)": state ppid pgrp ... utime(14) stime(15), counted from 1 over the whole line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLK_TCK;
}

function ratesFrom(store: ProfileStore): WorkerRate[] {
  const rows = store.db.prepare(`SELECT worker_id AS worker, count(*) AS events, min(processed_at) AS first, max(processed_at) AS last
    FROM processed_events GROUP BY worker_id ORDER BY worker_id`).all() as { worker: string; events: number; first: string; last: string }[];
  return rows.map((r) => {
    const seconds = (Date.parse(r.last) - Date.parse(r.first)) / 1000;
    return { worker: r.worker, events: r.events, seconds, perSecond: Math.round((r.events - 1) / seconds) };
  });
}

async function phase(brokers: string[], name: string, workerCount: number): Promise<WorkerRate[]> {
  const topic = `bench-${name}`;
  const kafka = createKafka(brokers, 'crm-bench-worker');
  await ensureTopic(kafka, topic, 2);
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const profileDb = join(dir, 'profiles.db');
  const store = new ProfileStore(profileDb);
  const admin = kafka.admin();
  const producer = createEventProducer(kafka);
  await Promise.all([admin.connect(), producer.connect()]);
  const workers: WorkerProcess[] = [];
  try {
    for (let i = 1; i <= workerCount; i++) {
      workers.push(startWorker({ id: `worker-${i}`, brokers, profileDb, logDir: dir, env: { KAFKA_TOPIC: topic, CONSUMER_GROUP: `bench-${name}` } }));
    }
    await waitForStableGroup(admin, `bench-${name}`, topic, workerCount);
    const cpuBefore = workers.map((w) => groupCpuSeconds(w.process.pid));
    for (let sent = 0; sent < count; sent += 1_000) {
      const events = Array.from({ length: Math.min(1_000, count - sent) }, (_, i) =>
        enrichedEvent(`user_${(sent + i) % 500}`, (sent + i) % 3 === 0 ? 'login' : 'page_view'));
      await producer.send({ topic, acks: -1, messages: events.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })) });
    }
    await waitFor(`${count} events processed`, () => store.processedCount() === count, { timeoutMs: 600_000, intervalMs: 250 });
    const cpu = workers.map((w, i) => groupCpuSeconds(w.process.pid) - cpuBefore[i]!);
    return ratesFrom(store).map((r) => {
      const i = workers.findIndex((w) => w.id === r.worker);
      return { ...r, cpuUsPerEvent: Math.round((cpu[i]! * 1e6) / r.events) };
    });
  } finally {
    await Promise.all(workers.map((w) => w.process.stop()));
    await Promise.all([admin.disconnect(), producer.disconnect()]);
    store.close();
  }
}

const broker = await startKafka({ dataDir: join(root, 'kafka') });
try {
  console.log(`worker throughput, ${count} events per phase, on this machine (${process.env.BENCH_LABEL ?? 'current code'}):`);
  for (const [name, workers] of [['one-worker', 1], ['two-workers', 2]] as const) {
    const rates = await phase(broker.brokers, name, workers);
    const total = rates.reduce((sum, r) => sum + r.events, 0) / Math.max(...rates.map((r) => r.seconds));
    console.log(`  ${workers} worker${workers > 1 ? 's' : ''}: ${rates.map((r) => `${r.worker} ${r.perSecond} events/s (${r.events} in ${r.seconds.toFixed(1)} s, ${r.cpuUsPerEvent} µs CPU/event)`).join(', ')}; together ${Math.round(total)} events/s`);
  }
} finally {
  await broker.process.stop();
  rmSync(root, { recursive: true, force: true });
}
