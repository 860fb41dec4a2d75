/**
 * Visits every record a topic holds at the time of the call: up to each partition's high watermark,
 * read by a throwaway consumer group that commits nothing. The one read loop behind the lab's
 * readers (JSON, raw bytes, a bench's counts, lab 06's isolation levels).
 */
import { randomBytes } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import { createKafka } from './kafka.js';

export interface ScanOptions {
  /** read_committed (kafkajs' default) skips aborted transactions; read_uncommitted returns them too. */
  isolation?: 'read_committed' | 'read_uncommitted';
  timeoutMs?: number;
  /** Bytes per fetch (kafkajs' default 10 MB). */
  maxBytes?: number;
  clientId?: string;
}

/** Calls `visit` for each record below the high watermark of its partition, partition by partition in offset order. */
export async function scanTopic(
  brokers: string[],
  topic: string,
  visit: (partition: number, message: KafkaMessage) => void,
  { isolation = 'read_committed', timeoutMs = 30_000, maxBytes, clientId = 'crm-lab-reader' }: ScanOptions = {},
): Promise<void> {
  const kafka = createKafka(brokers, clientId);
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const endOf = new Map(offsets.map((p) => [p.partition, Number(p.high)]));
  const remaining = new Map(offsets.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]));
  if (remaining.size === 0) return;

  const consumer = kafka.consumer({
    groupId: `${clientId}-${randomBytes(6).toString('hex')}`, maxWaitTimeInMs: 100,
    readUncommitted: isolation === 'read_uncommitted', ...(maxBytes ? { maxBytes } : {}),
  });
  await consumer.connect();
  let visited = 0;
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`scanTopic(${topic}, ${isolation}): timed out with ${visited} records read`)), timeoutMs);
      // Fired after each batch, also for one holding only transaction markers (how a transactional
      // partition often ends): the partition is done once a batch reaches its end.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const end = remaining.get(payload.partition);
        if (end !== undefined && Number(payload.lastOffset) + 1 >= end) remaining.delete(payload.partition);
        if (remaining.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const end = endOf.get(batch.partition) ?? 0;
          for (const message of batch.messages) {
            if (Number(message.offset) >= end) break;
            visited++;
            visit(batch.partition, message);
          }
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}
