/**
 * Reads a phase's topic back (with kafkajs, the lab's reader; every record up to each partition's
 * high watermark) and counts the copies of each message by the sequence number in its event_id.
 * Also counts records on another partition than the Java client's murmur2 picks for their key.
 */
import { createKafka, partitionFor } from '../../shared/kafka.js';
import { scanTopic } from '../../shared/scan-topic.js';
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
  const partitions = (await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect())).length;
  const out: StoredCopies = { copies: new Map(), records: 0, foreign: 0, misplaced: 0 };
  await scanTopic(brokers, topic, (partition, message) => {
    out.records++;
    if (partitionFor(message.key?.toString() ?? '', partitions) !== partition) out.misplaced++;
    let seq: number | undefined;
    try {
      seq = seqOf(JSON.parse(message.value?.toString() ?? 'null')?.event_id);
    } catch {
      seq = undefined;
    }
    if (seq === undefined) out.foreign++;
    else out.copies.set(seq, (out.copies.get(seq) ?? 0) + 1);
  }, { timeoutMs, maxBytes: 16 << 20, clientId: 'bench-clients-reader' });
  return out;
}
