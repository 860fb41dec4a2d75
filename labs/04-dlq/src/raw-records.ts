/**
 * Reads a topic's records as bytes. The DLQ holds what the workers could not process, so
 * nothing in it can be assumed to be JSON, or even present (a null value): shared/kafka.ts
 * `readTopic` parses every value as JSON and would fail (and retry forever) on such a record.
 */
import type { IHeaders } from 'kafkajs';
import { scanTopic } from '../../../shared/scan-topic.js';

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
  const records: RawRecord[] = [];
  await scanTopic(brokers, topic, (partition, message) => {
    const headers: Record<string, string> = {};
    for (const [name, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[name] = v.toString();
    records.push({ partition, offset: Number(message.offset), key: message.key, value: message.value, headers, headerBytes: message.headers ?? {} });
  }, { timeoutMs, clientId: 'crm-lab-raw-reader' });
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
