/**
 * The seed's spike answer scales the workers to 10 on a 2-partition topic. A consumer group gives a
 * partition to one member at a time, so 8 of the 10 get nothing to read. Ten kafkajs consumers in
 * this process, one group, with the workers' settings (kafkajs' default assigner, as src/worker.ts).
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Consumer } from 'kafkajs';
import { createKafka } from '../../../shared/kafka.js';
import { waitForStableGroup } from '../../../shared/testing/groups.js';
import { createTopic, uniqueTopic } from '../../../shared/testing/kafka.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('lab02-idle');
const groupId = `${topic}-group`;
const consumers: Consumer[] = [];
const admin = createKafka(brokers, 'lab02-idle-admin').admin();

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.disconnect()));
  await admin.disconnect();
});

describe('more workers than partitions', () => {
  it('ten workers on two partitions: eight get no partition', async () => {
    const partitions = 2;
    const workers = 10;
    await createTopic(brokers, topic, partitions);
    await admin.connect();
    // All at once: one rebalance, not ten.
    await Promise.all(Array.from({ length: workers }, async (_, i) => {
      const consumer = createKafka(brokers, `worker-${String(i + 1).padStart(2, '0')}`).consumer({ groupId, sessionTimeout: 10_000 });
      consumers.push(consumer);
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async () => {} });
    }));
    const group = await waitForStableGroup(admin, groupId, topic, workers, 90_000);
    const owning = group.members.filter((m) => m.partitions.length > 0);
    console.log(`[idle-consumers] ${workers} workers, ${partitions} partitions: `
      + group.members.map((m) => `${m.clientId}=${m.partitions.join(',') || 'idle'}`).join(' '));
    expect(owning.flatMap((m) => m.partitions).sort()).toEqual([0, 1]);
    expect(owning).toHaveLength(partitions);
    expect(group.members.filter((m) => m.partitions.length === 0)).toHaveLength(workers - partitions);
  }, 120_000);
});
