/** What lab 06's broker tests share: unique topics, processor processes, readers by isolation level. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { afterAll, beforeAll, inject } from 'vitest';
import { repoRoot } from '../../../infra/paths.js';
import { launch, sleep, waitFor, type ManagedProcess } from '../../../infra/processes.js';
import { createEventProducer, createKafka } from '../../../shared/kafka.js';
import type { EnrichedEvent } from '../../../shared/schema.js';
import { scanTopic } from '../../../shared/scan-topic.js';
import { uniqueTopic } from '../../../shared/testing/kafka.js';
import { StreamsEnv, type StreamsSettings } from '../src/settings.js';
import { ensureStreamsTopics } from '../src/topics.js';
import type { Observed } from './judge.js';

const { ConfigResourceTypes } = kafkajs; // CommonJS: its enums are not named exports under ESM (tsx runs this file from bench:streams)

// Node with tsx as a loader (infra/runtime/native.ts says why not the tsx CLI).
const mainFile = join(repoRoot, 'labs', '06-stream-processing', 'src', 'main.ts');

/**
 * What every lab 06 test file needs: the shared broker, a client, an admin connected before the
 * file's tests, and the processors they start, all stopped after them.
 */
export function lab06Fixture(clientId: string) {
  const { brokers } = inject('kafka');
  const fixture = { brokers, kafka: createKafka(brokers, clientId), processes: [] as ManagedProcess[], admin: undefined as unknown as Admin };
  beforeAll(async () => {
    fixture.admin = fixture.kafka.admin();
    await fixture.admin.connect();
  });
  afterAll(async () => {
    await Promise.all(fixture.processes.map((p) => p.stop()));
    await fixture.admin?.disconnect();
  });
  return fixture;
}

/** Settings with topic names and an app id no other test uses. */
export function uniqueSettings(prefix: string, overrides: Record<string, string> = {}): StreamsSettings & { env: Record<string, string> } {
  const id = uniqueTopic(prefix);
  const env = {
    STREAMS_APP_ID: `${id}-app`, STREAMS_INPUT_TOPIC: `${id}-events`, HOURLY_TOPIC: `${id}-hourly`,
    ACTIVITY_TOPIC: `${id}-activity`, LOGINS_TOPIC: `${id}-logins`, LATE_TOPIC: `${id}-late`, ...overrides,
  };
  return { ...StreamsEnv.parse(env), env };
}

/**
 * The app's topics, its outputs kept whatever their records' age. The workload's event times are
 * fixed (January 2026) and Kafka Streams stamps its outputs with event time: older than the broker's
 * 7-day retention, each output batch rolls a segment of its own, and the broker's retention check
 * (30 s after it starts, then every 5 min) deleted all but the last of them mid-test, so the test
 * read back some partitions' first windows missing.
 */
export async function createStreamsTopics(brokers: string[], s: StreamsSettings, partitions: number): Promise<void> {
  const kafka = createKafka(brokers, 'lab06-test');
  await ensureStreamsTopics(kafka, s, partitions);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [s.HOURLY_TOPIC, s.ACTIVITY_TOPIC, s.LOGINS_TOPIC, s.LATE_TOPIC].map((name) => ({
        type: ConfigResourceTypes.TOPIC, name, configEntries: [{ name: 'retention.ms', value: '-1' }],
      })),
    });
  } finally {
    await admin.disconnect();
  }
}

export function startProcessor(id: string, brokers: string[], env: Record<string, string>, logDir: string): ManagedProcess {
  return launch(id, process.execPath, ['--import', 'tsx', mainFile], {
    cwd: repoRoot,
    logFile: join(logDir, `${id}.log`),
    env: { ...env, PROCESSOR_ID: id, KAFKA_BROKERS: brokers.join(','), LOG_LEVEL: 'info', KAFKAJS_LOG_LEVEL: 'warn' },
  });
}

export const logDirFor = (name: string) => mkdtempSync(join(tmpdir(), `${name}-`));

/** The processor's structured log lines with this message. */
export function logLines(proc: ManagedProcess, msg: string): Record<string, any>[] {
  return readFileSync(proc.logFile, 'utf8').split('\n').filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.msg === msg);
}

export async function produceAll(kafka: Kafka, topic: string, events: EnrichedEvent[]): Promise<void> {
  const producer = createEventProducer(kafka);
  await producer.connect();
  try {
    for (let i = 0; i < events.length; i += 500) {
      await producer.send({ topic, acks: -1, messages: events.slice(i, i + 500).map((e) => ({ key: e.user_id, value: JSON.stringify(e) })) });
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * Produces `events` in order while the group is running, keeping about `ahead` records beyond what
 * it has committed, so a processor killed at any moment has input in hand (an open transaction).
 * Call `stop()` to end feeding; the events not yet produced are returned for the caller to send.
 */
export function feedAhead(kafka: Kafka, admin: Admin, s: StreamsSettings, events: EnrichedEvent[], ahead = 400) {
  let produced = 0;
  let stopped = false;
  const loop = (async () => {
    const producer = createEventProducer(kafka);
    await producer.connect();
    try {
      while (!stopped && produced < events.length) {
        const committed = await committedTotal(admin, s.STREAMS_APP_ID, s.STREAMS_INPUT_TOPIC);
        if (produced - committed >= ahead) {
          await sleep(50);
          continue;
        }
        const slice = events.slice(produced, produced + 100);
        await producer.send({ topic: s.STREAMS_INPUT_TOPIC, acks: -1, messages: slice.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })) });
        produced += slice.length;
      }
    } finally {
      await producer.disconnect();
    }
  })();
  return {
    produced: () => produced,
    async stop(): Promise<EnrichedEvent[]> {
      stopped = true;
      await loop;
      return events.slice(produced);
    },
  };
}

/** Sum over partitions of the offsets the group committed (with its transactions). */
export async function committedTotal(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

/** Waits until the group has committed the end of every input partition: all its outputs are then committed. */
export async function waitCaughtUp(admin: Admin, groupId: string, topic: string, timeoutMs = 120_000): Promise<void> {
  await waitFor(`${groupId} to commit the end of ${topic}`, async () => {
    const ends = await admin.fetchTopicOffsets(topic);
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return ends.every((e) => Number(offsets?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1) === Number(e.high));
  }, { timeoutMs, intervalMs: 500 });
}

/**
 * Every record in the topic, as a reader with this isolation level sees it. read_committed stops
 * at the last stable offset: an open transaction would hold it back, so call it once writers are idle.
 */
export async function readAs<T>(brokers: string[], topic: string, isolation: 'read_committed' | 'read_uncommitted'): Promise<T[]> {
  const records: { partition: number; offset: number; value: T }[] = [];
  await scanTopic(brokers, topic, (partition, m) => records.push({ partition, offset: Number(m.offset), value: JSON.parse(m.value!.toString()) as T }),
    { isolation, timeoutMs: 60_000, clientId: `lab06-reader-${isolation}` });
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset).map((r) => r.value);
}

export async function readOutputs(brokers: string[], s: StreamsSettings, isolation: 'read_committed' | 'read_uncommitted'): Promise<Observed> {
  const [hourly, activity, logins, late] = await Promise.all([
    readAs<Observed['hourly'][number]>(brokers, s.HOURLY_TOPIC, isolation),
    readAs<Observed['activity'][number]>(brokers, s.ACTIVITY_TOPIC, isolation),
    readAs<Observed['logins'][number]>(brokers, s.LOGINS_TOPIC, isolation),
    readAs<Observed['late'][number]>(brokers, s.LATE_TOPIC, isolation),
  ]);
  return { hourly, activity, logins, late };
}
