/**
 * Reads a phase's topic back (with kafkajs, the lab's reader; every record up to each partition's
 * high watermark) and counts the copies of each message by the sequence number in its event_id.
 * Also counts records on another partition than the Java client's murmur2 picks for their key.
 */
import { randomBytes } from 'node:crypto';
import { createKafka, partitionFor } from '../../../../shared/kafka.js';
import { seqOf } from './workload.js';

export interface StoredCopies {
  copies: Map<number, number>;
  records: number;
  /** Records whose value is not one of this bench's events. */
  foreign: number;
  /** Records not on partitionFor(key): another key → partition map than the lab's. */
  misplaced: number;
}

export async function readStored(brokers: string[], topic: string, timeoutMs = 300_000): Promise<StoredCopies> {
  const kafka = createKafka(brokers, 'bench-clients-reader');
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const partitions = offsets.length;
  const remaining = new Map(offsets.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]));
  const out: StoredCopies = { copies: new Map(), records: 0, foreign: 0, misplaced: 0 };
  if (remaining.size === 0) return out;

  const consumer = kafka.consumer({ groupId: `bench-clients-reader-${randomBytes(6).toString('hex')}`, maxWaitTimeInMs: 100, maxBytes: 16 << 20 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} back: timed out after ${out.records} records`)), timeoutMs);
      consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const high = remaining.get(batch.partition);
          if (high === undefined) return;
          for (const message of batch.messages) {
            if (Number(message.offset) >= high) break;
            out.records++;
            const key = message.key?.toString() ?? '';
            if (partitionFor(key, partitions) !== batch.partition) out.misplaced++;
            let seq: number | undefined;
            try {
              seq = seqOf(JSON.parse(message.value?.toString() ?? 'null')?.event_id);
            } catch {
              seq = undefined;
            }
            if (seq === undefined) out.foreign++;
            else out.copies.set(seq, (out.copies.get(seq) ?? 0) + 1);
          }
          if (Number(batch.lastOffset()) >= high - 1) remaining.delete(batch.partition);
          if (remaining.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}
