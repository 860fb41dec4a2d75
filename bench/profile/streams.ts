/**
 * `npm run profile -- streams`: lab 06's stream processor (exactly-once, commit interval 1 s, as
 * `npm run up` runs it) under --cpu-prof, consuming events produced at an even rate.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { failIfExited, waitFor } from '../../infra/processes.js';
import { startWorker } from '../../infra/worker.js';
import { createKafka } from '../../shared/kafka.js';
import { waitForStableGroup } from '../../shared/testing/groups.js';
import { cpuShare, cpuSnapshot } from '../cpu.js';
import { cpuProfEnv, monotonicUs } from './cpu-prof.js';
import { producePaced } from './paced-producer.js';
import { waitForNoLag, type ProfiledLoad, type ProfileRun } from './run.js';

export async function profileStreams(o: ProfileRun): Promise<ProfiledLoad> {
  const appId = 'crm-profile-streams';
  const processor = startWorker({
    id: 'streams-1', kind: 'stream-processor', brokers: o.brokers, profileDb: join(o.root, 'unused.db'), logDir: join(o.root, 'logs'),
    env: { ...cpuProfEnv(o.profDir), STREAMS_APP_ID: appId, STREAMS_INPUT_TOPIC: o.topic, KAFKA_TOPIC: o.topic, ...o.env },
  });
  const admin = createKafka(o.brokers, 'crm-profile-admin').admin();
  await admin.connect();
  try {
    const alive = failIfExited(processor.process);
    await waitFor(`the stream processor to start (log: ${processor.process.logFile})`, () => {
      alive();
      return existsSync(processor.process.logFile) && readFileSync(processor.process.logFile, 'utf8').includes('stream processor started');
    }, { timeoutMs: 120_000, intervalMs: 250 });
    await waitForStableGroup(admin, appId, o.topic, 1);
    const fromUs = monotonicUs();
    const cpuBefore = cpuSnapshot();
    const events = await producePaced(o);
    const sentAt = monotonicUs();
    await waitForNoLag(admin, appId, o.topic);
    const toUs = monotonicUs();
    const cpuCores = cpuShare(cpuBefore, cpuSnapshot(), { workers: [processor.process.pid] }).workers;
    return { events, window: { fromUs, toUs }, cpuCores, notes: [`processor log: ${processor.process.logFile}`, `drained ${((toUs - sentAt) / 1000).toFixed(0)} ms after the last send`] };
  } finally {
    await admin.disconnect();
    await processor.process.stop(30_000);
  }
}
