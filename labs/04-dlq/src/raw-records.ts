/**
 * Reads a topic's records as bytes. The DLQ holds what the workers could not process, so
 * nothing in it can be assumed to be JSON, or even present (a null value): shared/kafka.ts
 * `readTopic` parses every value as JSON and would fail (and retry forever) on such a record.
 */
import { randomBytes } from 'node:crypto';
import type { IHeaders } from 'kafkajs';
import { createKafka } from '../../../shared/kafka.js';

export interface RawRecord {
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Header values as text (the lab's headers are all text). */
  headers: Record<string, string>;
  /** Header values as received, to pass on unchanged. */
  headerBytes: IHeaders;
}

/** Every record stored at the time of the call (up to each partition's high watermark), in partition then offset order. */
export async function readRawTopic(brokers: string[], topic: string, timeoutMs = 30_000): Promise<RawRecord[]> {
  const kafka = createKafka(brokers, 'crm-lab-raw-reader');
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const remaining = new Map(offsets.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]));
  const records: RawRecord[] = [];
  if (remaining.size === 0) return records;

  const consumer = kafka.consumer({ groupId: `raw-reader-${randomBytes(6).toString('hex')}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`readRawTopic(${topic}): timed out with ${records.length} records read`)), timeoutMs);
      consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const high = remaining.get(partition);
          const offset = Number(message.offset);
          if (high === undefined || offset >= high) return;
          const headers: Record<string, string> = {};
          for (const [name, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[name] = v.toString();
          records.push({ partition, offset, key: message.key, value: message.value, headers, headerBytes: message.headers ?? {} });
          if (offset === high - 1) remaining.delete(partition);
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
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
