import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { PartitionState } from './partition-state.js';

/**
 * Replays changelog partition `partition` into `state`, reading only committed records, up to
 * the end the partition had when the restore began. Call it after fencing the previous owner
 * (task.ts): then no transaction is open on the partition and its end is its last stable offset.
 * kafkajs has no `assign()`, so a throwaway consumer group reads the topic and ignores the other partitions.
 */
export async function restoreFromChangelog(kafka: Kafka, topic: string, partition: number, state: PartitionState): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const p = offsets.find((o) => o.partition === partition)!;
  const end = Number(p.high);
  if (end <= Number(p.low)) return 0;

  const groupId = `${topic}-restore-${randomBytes(4).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, readUncommitted: false });
  let applied = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`restore of ${topic}[${partition}] timed out after ${applied} records`)), 60_000);
      // Fired for every fetched batch, also for one holding only transaction markers, which eachBatch never sees.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.partition === partition && Number(payload.lastOffset) + 1 >= end) {
          clearTimeout(timer);
          resolve();
        }
      });
      consumer.run({
        eachBatch: async ({ batch }) => {
          if (batch.partition !== partition) return;
          for (const m of batch.messages) {
            if (Number(m.offset) >= end) break;
            state.restore(m.key!.toString(), m.value ? m.value.toString() : null);
            applied += 1;
          }
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
    const cleanup = kafka.admin();
    await cleanup.connect().then(() => cleanup.deleteGroups([groupId])).catch(() => undefined).finally(() => cleanup.disconnect());
  }
  return applied;
}
