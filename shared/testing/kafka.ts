import { randomBytes } from 'node:crypto';
import { createKafka, ensureTopic, readTopic, type ReadRecord } from '../kafka.js';

export { readTopic, type ReadRecord };

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
