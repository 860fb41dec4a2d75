import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { compileStreamsApp, ensureKafkaStreamsJars, startStreamsApp } from '../../../infra/kafka-streams.js';
import { repoRoot } from '../../../infra/paths.js';
import { waitFor, type ManagedProcess } from '../../../infra/processes.js';
import { createKafka } from '../../../shared/kafka.js';
import type { HourlyCount } from '../src/outputs.js';
import { judge } from './judge.js';
import {
  createStreamsTopics, logDirFor, produceAll, readAs, readOutputs, startProcessor, uniqueSettings, waitCaughtUp,
} from './harness.js';
import { generateWorkload } from './workload.js';

const { brokers } = inject('kafka');
const kafka = createKafka(brokers, 'lab06-kafka-streams-test');
const javaDir = join(repoRoot, 'labs', '06-stream-processing', 'streams-java');
const PARTITIONS = 4;
const GRACE_MS = 10 * 60_000;
const processes: ManagedProcess[] = [];
let admin: Admin;
let classes: string;

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
  await ensureKafkaStreamsJars();
  classes = await compileStreamsApp(join(javaDir, 'src', 'HourlyCounts.java'));
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await admin?.disconnect();
});

const byWindow = (records: HourlyCount[]) =>
  [...records].sort((a, b) => a.user_id.localeCompare(b.user_id) || a.window_start.localeCompare(b.window_start));

describe('the real engine agrees', () => {
  it('Kafka Streams (exactly_once_v2, the same windows and grace) writes the same hourly counts as the TypeScript processor, and drops the same late events', async () => {
    const s = uniqueSettings('lab06-ks', { GRACE_MS: String(GRACE_MS), COMMIT_INTERVAL_MS: '200' });
    const javaApp = `${s.STREAMS_APP_ID}-java`;
    const javaHourly = `${s.HOURLY_TOPIC}-java`;
    await createStreamsTopics(brokers, s, PARTITIONS);
    await createStreamsTopics(brokers, { ...s, STREAMS_APP_ID: javaApp, HOURLY_TOPIC: javaHourly }, PARTITIONS);
    const { events, expected } = generateWorkload({ users: 30, hours: 3, eventsPerUserHour: 6, partitions: PARTITIONS, graceMs: GRACE_MS, seed: 3 });
    await produceAll(kafka, s.STREAMS_INPUT_TOPIC, events);

    const logDir = logDirFor('lab06-ks');
    processes.push(startProcessor('ts-processor', brokers, s.env, logDir));
    const java = startStreamsApp({ name: 'kafka-streams', classes, mainClass: 'HourlyCounts', logFile: join(logDir, 'kafka-streams.log'), env: {
      KAFKA_BROKERS: brokers.join(','), STREAMS_APP_ID: javaApp, STREAMS_INPUT_TOPIC: s.STREAMS_INPUT_TOPIC, HOURLY_TOPIC: javaHourly,
      GRACE_MS: String(GRACE_MS), COMMIT_INTERVAL_MS: '200', STATESTORE_CACHE_MAX_BYTES: process.env.KS_CACHE ?? '0', STATE_DIR: join(logDir, 'kafka-streams-state'),
    } });
    processes.push(java);

    await waitCaughtUp(admin, s.STREAMS_APP_ID, s.STREAMS_INPUT_TOPIC);
    await waitCaughtUp(admin, javaApp, s.STREAMS_INPUT_TOPIC);
    const ts = byWindow((await readOutputs(brokers, s, 'read_committed')).hourly);
    // Suppressed windows are written when a commit flushes the cache: wait for the topic to stop growing.
    let lastCount = -1;
    const ks = byWindow(await waitFor('Kafka Streams\' final hourly windows', async () => {
      const records = await readAs<HourlyCount>(brokers, javaHourly, 'read_committed');
      const stable = records.length > 0 && records.length === lastCount;
      lastCount = records.length;
      return stable && records;
    }, { timeoutMs: 60_000, intervalMs: 3_000 }));
    console.log(`hourly windows: TypeScript ${ts.length}, Kafka Streams ${ks.length}, expected ${expected.hourly.size}`);

    expect(ks).toEqual(ts);
    expect(judge(expected, { hourly: ks, activity: [], logins: [], late: [] }).hourly)
      .toEqual({ missing: [], unexpected: [], duplicated: [], wrong: [] });

    // Kafka Streams drops a late record silently but counts it (dropped-records-total, printed on stop).
    await java.stop();
    const dropped = /"dropped_records_total":(\d+)/.exec(readFileSync(java.logFile, 'utf8'));
    expect(Number(dropped?.[1])).toBe(expected.late.size);
  });
});
