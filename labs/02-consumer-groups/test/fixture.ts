/**
 * What the worker tests of labs 02 and 04 share: the shared broker, a topic of their own (and side
 * topics such as a retry lane and a DLQ), a consumer group id, a profile store in a temp folder, a
 * connected admin and producer, and the workers they start — all stopped after the file's tests.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, inject } from 'vitest';
import { startWorker, type WorkerProcess } from '../../../infra/worker.js';
import { createEventProducer, createKafka } from '../../../shared/kafka.js';
import { createTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { ProfileStore } from '../src/profile-store.js';

export function workerGroupFixture<Side extends string = never>(name: string, o: { partitions: number; sideTopics?: Side[] }) {
  const { brokers } = inject('kafka');
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const profileDb = join(dir, 'profiles.db');
  const side = Object.fromEntries((o.sideTopics ?? []).map((s) => [s, uniqueTopic(`${name}-${s}`)])) as Record<Side, string>;
  const fixture = {
    brokers,
    topic: uniqueTopic(name),
    /** Side topics by name, one partition each. */
    side,
    groupId: uniqueTopic('crm-event-processors'),
    dir,
    profileDb,
    workers: [] as WorkerProcess[],
    admin: undefined as unknown as Admin,
    producer: undefined as unknown as Producer,
    store: undefined as unknown as ProfileStore,
    /** Starts a worker on this fixture's broker, profile store and log folder; stopped after the file. */
    startWorker(opts: Omit<Parameters<typeof startWorker>[0], 'brokers' | 'profileDb' | 'logDir'>): WorkerProcess {
      const worker = startWorker({ ...opts, brokers, profileDb, logDir: dir });
      fixture.workers.push(worker);
      return worker;
    },
  };
  beforeAll(async () => {
    await createTopic(brokers, fixture.topic, o.partitions);
    for (const topic of Object.values<string>(side)) await createTopic(brokers, topic, 1);
    const kafka = createKafka(brokers, `${name}-test`);
    fixture.admin = kafka.admin();
    await fixture.admin.connect();
    fixture.producer = createEventProducer(kafka);
    await fixture.producer.connect();
    fixture.store = new ProfileStore(profileDb);
  });
  afterAll(async () => {
    await Promise.all(fixture.workers.map((w) => w.process.stop()));
    await fixture.producer?.disconnect();
    await fixture.admin?.disconnect();
    fixture.store?.close();
  });
  return fixture;
}
