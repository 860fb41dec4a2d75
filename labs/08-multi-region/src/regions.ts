/**
 * Two regions on one machine: region A and region B are each a single-broker KRaft cluster
 * (infra/kafka.ts, own ports and data folders; one broker per region keeps the lab on 2 cores —
 * a real region has three), with MirrorMaker 2 replicating A's `crm-events` to B's `A.crm-events`
 * (infra/mirror-maker.ts). A's topic starts with history already expired (records written, then
 * deleted as retention would): MM2 copies from A's log start, so B's offsets are A's minus that
 * shift, and only a translation through MM2's checkpoints finds a group's place on B.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startKafka, type KafkaBroker } from '../../../infra/kafka.js';
import { ensureMirrorMakerJars, startMirrorMaker, type MirrorMaker } from '../../../infra/mirror-maker.js';
import { failIfExited, waitFor } from '../../../infra/processes.js';
import { createKafka, ensureTopic } from '../../../shared/kafka.js';

export const SOURCE_TOPIC = 'crm-events';
export const GROUP = 'crm-event-processors';
export const PARTITIONS = 2;

export interface Regions {
  a: KafkaBroker;
  b: KafkaBroker;
  mm2: MirrorMaker;
  /** `A.crm-events` on B. */
  mirroredTopic: string;
  /** Per partition: A's log start when MM2 began, i.e. upstream offset minus downstream offset. */
  shift: Map<number, number>;
  /** Stops MM2 and both brokers (whatever still runs). */
  close(): Promise<void>;
}

/** Writes `count` events to A's topic and deletes them again, as retention would have: A's log then starts past 0. */
async function expireHistory(brokers: string[], count: number): Promise<Map<number, number>> {
  const kafka = createKafka(brokers, 'crm-lab-history');
  const producer = kafka.producer();
  const admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  try {
    await producer.send({ topic: SOURCE_TOPIC, acks: -1, messages: Array.from({ length: count }, (_, i) => ({
      key: `expired_user_${i % 7}`, value: JSON.stringify({ event_id: `expired-${i}`, user_id: `expired_user_${i % 7}`, event_type: 'page_view' }),
    })) });
    const ends = await admin.fetchTopicOffsets(SOURCE_TOPIC);
    await admin.deleteTopicRecords({ topic: SOURCE_TOPIC, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
    const starts = await admin.fetchTopicOffsets(SOURCE_TOPIC);
    return new Map(starts.map((p) => [p.partition, Number(p.low)]));
  } finally {
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  }
}

export async function startRegions(o: { dir: string; mirrorSettings?: Record<string, string | number | boolean>; expiredEvents?: number }): Promise<Regions> {
  mkdirSync(o.dir, { recursive: true });
  await ensureMirrorMakerJars();
  const heapMb = Number(process.env.REGION_KAFKA_HEAP_MB ?? 384);
  const [a, b] = await Promise.all([
    startKafka({ dataDir: join(o.dir, 'region-a'), defaultPartitions: PARTITIONS, heapMb }),
    startKafka({ dataDir: join(o.dir, 'region-b'), defaultPartitions: PARTITIONS, heapMb }),
  ]);
  let mm2: MirrorMaker | undefined;
  const close = async () => {
    await mm2?.process.kill();
    await Promise.all([a.process.stop(), b.process.stop()]);
  };
  try {
    await ensureTopic(createKafka(a.brokers, 'crm-lab-regions'), SOURCE_TOPIC, PARTITIONS);
    const shift = await expireHistory(a.brokers, o.expiredEvents ?? 40);
    mm2 = startMirrorMaker({
      source: { alias: 'A', brokers: a.brokers }, target: { alias: 'B', brokers: b.brokers },
      topics: SOURCE_TOPIC, groups: GROUP, settings: o.mirrorSettings, dir: join(o.dir, 'mirror-maker'),
    });
    const mirroredTopic = mm2.remoteTopic(SOURCE_TOPIC);
    const adminB = createKafka(b.brokers, 'crm-lab-regions').admin();
    await adminB.connect();
    const alive = failIfExited(mm2.process);
    try {
      // MM2 creates the mirrored topic (same partition count) once its source connector runs.
      await waitFor(`${mirroredTopic} on region B (log: ${mm2.process.logFile})`, async () => {
        alive();
        const topics = await adminB.listTopics();
        return topics.includes(mirroredTopic) && topics.includes(mm2!.checkpointsTopic);
      }, { timeoutMs: 90_000, intervalMs: 500 });
    } finally {
      await adminB.disconnect();
    }
    return { a, b, mm2, mirroredTopic, shift, close };
  } catch (error) {
    await close();
    throw error;
  }
}
