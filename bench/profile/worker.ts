/**
 * `npm run profile -- worker`: one lab 04 worker (lab 02's worker plus the retry lane, as `npm run up`
 * runs it, LOG_LEVEL=info to its log file) under --cpu-prof, consuming events produced at an even rate.
 */
import { join } from 'node:path';
import { startWorker } from '../../infra/worker.js';
import { createKafka } from '../../shared/kafka.js';
import { waitForStableGroup } from '../../shared/testing/groups.js';
import { cpuShare, cpuSnapshot } from '../cpu.js';
import { cpuProfEnv, monotonicUs } from './cpu-prof.js';
import { producePaced } from './paced-producer.js';
import { waitForNoLag, type ProfiledLoad, type ProfileRun } from './run.js';

export async function profileWorker(o: ProfileRun): Promise<ProfiledLoad> {
  const groupId = 'crm-profile-workers';
  const worker = startWorker({
    id: 'worker-1', kind: 'with-dlq', brokers: o.brokers, profileDb: join(o.root, 'profiles.db'), logDir: join(o.root, 'logs'),
    env: { ...cpuProfEnv(o.profDir), KAFKA_TOPIC: o.topic, CONSUMER_GROUP: groupId, KAFKA_RETRY_TOPIC: `${o.topic}-retry`, KAFKA_DLQ_TOPIC: `${o.topic}-dlq`, ...o.env },
  });
  const admin = createKafka(o.brokers, 'crm-profile-admin').admin();
  await admin.connect();
  try {
    await waitForStableGroup(admin, groupId, o.topic, 1);
    const fromUs = monotonicUs();
    const cpuBefore = cpuSnapshot();
    const events = await producePaced(o);
    const sentAt = monotonicUs();
    await waitForNoLag(admin, groupId, o.topic);
    const toUs = monotonicUs();
    const cpuCores = cpuShare(cpuBefore, cpuSnapshot(), { workers: [worker.process.pid] }).workers;
    return { events, window: { fromUs, toUs }, cpuCores, notes: [`worker log: ${worker.process.logFile}`, `drained ${((toUs - sentAt) / 1000).toFixed(0)} ms after the last send`] };
  } finally {
    await admin.disconnect();
    // SIGTERM: the graceful stop commits, leaves the group and exits 0, which writes the profile.
    await worker.process.stop(30_000);
  }
}
