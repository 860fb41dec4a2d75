import { randomBytes } from 'node:crypto';
import type { IHeaders } from 'kafkajs';
import { createKafka, ensureTopic } from '../kafka.js';

export interface ReadRecord<T = any> {
  partition: number;
  offset: number;
  key: string | null;
  value: T;
  headers: Record<string, string>;
}

/** A topic name no other test uses. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export async function createTopic(brokers: string[], topic: string, partitions = 2): Promise<void> {
  await ensureTopic(createKafka(brokers, 'crm-lab-test'), topic, partitions);
}

/** Messages stored in the topic right now, summed over partitions (high watermark - low). */
export async function topicMessageCount(brokers: string[], topic: string): Promise<number> {
  const admin = createKafka(brokers, 'crm-lab-test').admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + (Number(p.high) - Number(p.low)), 0);
  } finally {
    await admin.disconnect();
  }
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (v !== undefined) out[k] = String(v);
  return out;
}

/**
 * Reads every message stored in the topic at the time of the call (up to each partition's
 * high watermark), in partition then offset order. Values are parsed as JSON.
 */
export async function readTopic<T = any>(brokers: string[], topic: string, timeoutMs = 30_000): Promise<ReadRecord<T>[]> {
  const kafka = createKafka(brokers, 'crm-lab-test-reader');
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(offsets.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]));
  const records: ReadRecord<T>[] = [];
  if (remaining.size === 0) return records;

  const consumer = kafka.consumer({ groupId: `reader-${randomBytes(6).toString('hex')}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`readTopic(${topic}): timed out with ${records.length} records read`)), timeoutMs);
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const high = remaining.get(partition);
            const offset = Number(message.offset);
            if (high === undefined || offset >= high) return;
            records.push({
              partition,
              offset,
              key: message.key?.toString() ?? null,
              value: message.value ? JSON.parse(message.value.toString()) : null,
              headers: decodeHeaders(message.headers),
            });
            if (offset === high - 1) remaining.delete(partition);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
