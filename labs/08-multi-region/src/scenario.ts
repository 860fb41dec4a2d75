/**
 * The bookkeeping of a regional failover run: the pipeline in region A (an API replica and two
 * workers), the load (lab 03's ledger and paced clients), the promotion of B, and the reads that
 * turn the run into a history for src/failover-checker.ts.
 *
 * Where B's dedupe state comes from: the profile store (lab 02's SQLite file, with its
 * `processed_events` table of event_ids) is the one both regions write — it stands for a
 * profile database replicated synchronously across regions. So an event B re-reads after the
 * translation finds its event_id and is refused, counted in `duplicate_deliveries`.
 */
import { join } from 'node:path';
import { startApiReplica, type ApiReplica } from '../../../infra/api.js';
import { waitFor } from '../../../infra/processes.js';
import { startWorker, type WorkerProcess } from '../../../infra/worker.js';
import { createKafka, ensureTopic } from '../../../shared/kafka.js';
import { consumerLag, totalLag } from '../../../shared/lag.js';
import { readTopic } from '../../../shared/testing/kafka.js';
import { ProfileStore } from '../../02-consumer-groups/src/profile-store.js';
import { Ledger, runLoad } from '../../03-failure/src/chaos.js';
import type { FailoverHistory, LogRecord, Region } from './failover-checker.js';
import { GROUP, PARTITIONS, SOURCE_TOPIC } from './regions.js';

export const apiEnv = { RATE_LIMIT_MAX: '100000', PUBLISH_TIMEOUT_MS: '2000', LOG_LEVEL: 'error' };

/** Region of a worker, from its id (`a-worker-1`, `b-worker-2`). */
export const regionOfWorker = (workerId: string): Region => (workerId.startsWith('b-') ? 'B' : 'A');

export function startWorkers(o: { region: Region; ids: number[]; brokers: string[]; topic: string; profileDb: string; dir: string }): WorkerProcess[] {
  return o.ids.map((i) => startWorker({
    id: `${o.region.toLowerCase()}-worker-${i}`, brokers: o.brokers, profileDb: o.profileDb, logDir: o.dir,
    env: { KAFKA_TOPIC: o.topic, CONSUMER_GROUP: GROUP, LOG_LEVEL: 'warn' },
  }));
}

export function startApi(o: { region: Region; brokers: string[]; dir: string }): Promise<ApiReplica> {
  return startApiReplica({ id: `api-${o.region.toLowerCase()}`, brokers: o.brokers, env: { ...apiEnv, KAFKA_TOPIC: SOURCE_TOPIC }, logDir: o.dir });
}

/** Paced clients, each with its own users (so a user's events have one sending order). */
export function load(o: { baseUrl: string; ledger: Ledger; label: string; clients: number; ratePerClient: number; maxEvents: number; stop?: () => boolean; firstAddress: number }) {
  return runLoad({
    baseUrl: o.baseUrl, ledger: o.ledger, clients: o.clients, ratePerClient: o.ratePerClient, maxEvents: o.maxEvents, stop: o.stop,
    localAddress: (c) => `127.0.8.${o.firstAddress + c}`,
    event: (n, c) => ({ user_id: `${o.label}_c${c}_u${n % 5}`, event_type: n % 3 === 0 ? 'login' : 'page_view', properties: { n } }),
    // One attempt per event: an event is acked or not, and a dead region is not retried into B.
    clientOptions: { maxAttempts: 1, timeoutMs: 5_000 },
  });
}

/** Waits until `group` has consumed `topic` on `brokers` to its end. */
export async function drain(brokers: string[], topic: string, timeoutMs = 60_000): Promise<void> {
  const admin = createKafka(brokers, 'crm-lab-drain').admin();
  await admin.connect();
  try {
    await waitFor(`${GROUP} drained ${topic}`, async () => {
      const lags = await consumerLag(admin, GROUP, topic);
      return lags.length === PARTITIONS && lags.every((l) => l.committed >= 0) && totalLag(lags) === 0;
    }, { timeoutMs, intervalMs: 500 });
  } finally {
    await admin.disconnect();
  }
}

export async function ensureLocalTopic(brokers: string[]): Promise<void> {
  await ensureTopic(createKafka(brokers, 'crm-lab-regions'), SOURCE_TOPIC, PARTITIONS);
}

export async function readLog(brokers: string[], topic: string): Promise<LogRecord[]> {
  return (await readTopic<{ event_id?: string; user_id?: string }>(brokers, topic, 60_000))
    .map((r) => ({ partition: r.partition, offset: r.offset, event_id: r.value?.event_id, user_id: r.value?.user_id }));
}

/** The store's side of the history. */
export function storeRows(profileDb: string): Pick<FailoverHistory, 'applied' | 'refused' | 'profiles'> {
  const store = new ProfileStore(profileDb);
  try {
    return {
      applied: store.processed().map((p) => ({ event_id: p.event_id, region: regionOfWorker(p.worker_id) })),
      refused: (store.db.prepare('SELECT event_id, worker_id FROM duplicate_deliveries').all() as { event_id: string; worker_id: string }[])
        .map((d) => ({ event_id: d.event_id, region: regionOfWorker(d.worker_id) })),
      profiles: store.profiles(),
    };
  } finally {
    store.db.close();
  }
}

export const profileDbIn = (dir: string) => join(dir, 'profiles.db');
export { Ledger };
