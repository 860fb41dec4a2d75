/**
 * The consumer side of a scenario: real worker processes (lab 04's complete worker: lab 02's consumer
 * group plus the retry lane and the DLQ) on the scenario's topic, in their own group, writing their
 * own profile store. Every scenario runs them, so the checker can judge `applied` everywhere: each
 * acked event applied exactly once, each profile exact.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { waitFor } from '../../../infra/processes.js';
import { startWorker, type WorkerProcess } from '../../../infra/worker.js';
import { createKafka } from '../../../shared/kafka.js';
import { consumerLag, totalLag } from '../../../shared/lag.js';
import { uniqueTopic } from '../../../shared/testing/kafka.js';
import { ProfileStore } from '../../02-consumer-groups/src/profile-store.js';

export interface ScenarioWorkers {
  readonly topic: string;
  readonly groupId: string;
  /** The directory of the profile store and the workers' logs. */
  readonly dir: string;
  /** The profile store the workers write, opened by the test to read it (pass it to `checkScenario`). */
  readonly store: ProfileStore;
  /** An admin client on the brokers given at the start (lag, group state). */
  readonly admin: Admin;
  readonly workers: Map<string, WorkerProcess>;
  /** Starts one worker; `via` overrides the brokers it talks to (e.g. Toxiproxy, or the survivors of a crash). */
  start(id: string, via?: string[]): WorkerProcess;
  /** The group's total lag on the scenario's topic now. */
  lag(): Promise<number>;
  /** Waits until the group has consumed the topic to its end (lag 0). */
  drain(timeoutMs?: number): Promise<void>;
  /** Stops every worker, closes the store and the admin client. */
  close(): Promise<void>;
}

export async function scenarioWorkers(o: {
  brokers: string[];
  topic: string;
  /** Names the group and the temp directory. */
  label: string;
  /** Extra worker settings (e.g. PROCESS_DELAY_MS, COMMIT_EVERY). */
  env?: Record<string, string>;
}): Promise<ScenarioWorkers> {
  const dir = mkdtempSync(join(tmpdir(), `${o.label}-`));
  const profileDb = join(dir, 'profiles.db');
  const groupId = uniqueTopic('crm-event-processors');
  const admin = createKafka(o.brokers, `${o.label}-test`).admin();
  await admin.connect();
  const store = new ProfileStore(profileDb);
  const workers = new Map<string, WorkerProcess>();
  const lag = async () => totalLag(await consumerLag(admin, groupId, o.topic));
  return {
    topic: o.topic, groupId, dir, store, admin, workers,
    start(id, via = o.brokers) {
      const worker = startWorker({
        id, kind: 'with-dlq', brokers: via, profileDb, logDir: dir,
        env: { KAFKA_TOPIC: o.topic, KAFKA_RETRY_TOPIC: `${o.topic}-retry`, KAFKA_DLQ_TOPIC: `${o.topic}-dlq`, CONSUMER_GROUP: groupId, ...o.env },
      });
      workers.set(id, worker);
      return worker;
    },
    lag,
    async drain(timeoutMs = 90_000) {
      await waitFor('lag 0', async () => (await lag()) === 0, { timeoutMs, intervalMs: 250 });
    },
    async close() {
      await Promise.all([...workers.values()].map((w) => w.process.stop()));
      await admin.disconnect();
      store.close();
    },
  };
}
