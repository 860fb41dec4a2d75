/**
 * Raising a topic's partition count moves keys: a user's partition is murmur2(user_id) mod the
 * count, so after 2 → 6 most users hash elsewhere, and their events split across two partitions
 * (per-user order, which lives in one partition, is then only kept if consumers drained the old
 * one first). The way around: a new topic created with the target count, filled only once the old
 * one is drained.
 *
 * Events are produced keyed by user_id with the lab's producer (shared/kafka.ts: the murmur2
 * partitioner the API's publisher uses) and read back from the real topic. `partitionFor` is the
 * oracle: an independent murmur2, not the partitioner under test.
 */
import type { Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../infra/processes.js';
import { createEventProducer, createKafka, partitionFor } from '../../../shared/kafka.js';
import { createTopic, readTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { enrichedEvent } from './events.js';
import { workerGroupFixture } from './fixture.js';

const f = workerGroupFixture('lab02-partition-raise', { partitions: 2 });
const USERS = Array.from({ length: 8 }, (_, i) => `raise_user_${i}`);
const PER_USER = 3;

/** A producer that has just fetched the topic's metadata: it partitions over the current count. */
async function freshProducer(): Promise<Producer> {
  const producer = createEventProducer(createKafka(f.brokers, 'lab02-partition-raise-producer'));
  await producer.connect();
  return producer;
}

/** PER_USER events for each user, `seq` counting on from `from`, keyed by user_id. */
async function produce(producer: Producer, topic: string, from: number) {
  const messages = USERS.flatMap((user) => Array.from({ length: PER_USER }, (_, i) => {
    const event = enrichedEvent(user, 'page_view', { seq: from + i });
    return { key: user, value: JSON.stringify(event) };
  }));
  await producer.send({ topic, acks: -1, messages });
}

/** The partitions each user's events are stored in, read back from the topic. */
async function partitionsByUser(topic: string): Promise<Map<string, Set<number>>> {
  const byUser = new Map<string, Set<number>>();
  for (const r of await readTopic(f.brokers, topic)) byUser.set(r.key!, (byUser.get(r.key!) ?? new Set()).add(r.partition));
  return byUser;
}

describe('raising partitions', () => {
  it('raising partitions moves a user\'s key: their events split across partitions', async () => {
    const before = await freshProducer();
    await produce(before, f.topic, 0);
    await before.disconnect();

    await f.admin.createPartitions({ topicPartitions: [{ topic: f.topic, count: 6 }] });
    // A producer notices the raise when it refreshes its metadata (kafkajs: metadataMaxAge, 5 min by
    // default); a new one, as after a replica restart, sees it at once.
    const after = await freshProducer();
    await produce(after, f.topic, PER_USER);
    await after.disconnect();

    // Per user, the partitions of its events produced before the raise, then after it.
    const records = await readTopic(f.brokers, f.topic);
    const partitionsOf = (user: string, raised: boolean) =>
      [...new Set(records.filter((r) => r.key === user && (r.value.properties.seq >= PER_USER) === raised).map((r) => r.partition))];
    const split = USERS.filter((u) => new Set([...partitionsOf(u, false), ...partitionsOf(u, true)]).size > 1)
      .map((u) => `${u}: ${partitionsOf(u, false).join('+')} then ${partitionsOf(u, true).join('+')}`);
    console.log(`[partition-raise] 2 → 6 partitions, ${USERS.length} users: split across two partitions: ${split.join(', ')}`);

    // Every user is in one partition before and one after; those the oracle says hash elsewhere are split.
    const moved = USERS.filter((u) => partitionFor(u, 2) !== partitionFor(u, 6));
    expect(moved.length).toBeGreaterThan(0);
    expect(split).toEqual(moved.map((u) => `${u}: ${partitionFor(u, 2)} then ${partitionFor(u, 6)}`));
  });

  it('a new topic with more partitions, filled after the old one drained, keeps each user on one partition', async () => {
    const oldTopic = uniqueTopic('lab02-partition-old');
    const newTopic = uniqueTopic('lab02-partition-new');
    await createTopic(f.brokers, oldTopic, 2);
    await createTopic(f.brokers, newTopic, 6);
    const producer = await freshProducer();
    await produce(producer, oldTopic, 0);

    // One consumer reads both topics, as a worker would through the switch.
    const seen: { topic: string; user: string; seq: number }[] = [];
    const consumer = createKafka(f.brokers, 'lab02-partition-raise-consumer').consumer({ groupId: uniqueTopic('lab02-partition-raise'), maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [oldTopic, newTopic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ topic, message }) => {
          const event = JSON.parse(message.value!.toString());
          seen.push({ topic, user: event.user_id, seq: event.properties.seq });
        },
      });
      const fromTopic = (topic: string) => seen.filter((s) => s.topic === topic).length;
      // Drained: the consumer reached the old topic's end offsets. Only then do producers switch.
      const oldEnd = (await f.admin.fetchTopicOffsets(oldTopic)).reduce((sum, p) => sum + Number(p.high), 0);
      await waitFor('the old topic drained', () => fromTopic(oldTopic) === oldEnd, { timeoutMs: 60_000 });
      await produce(producer, newTopic, PER_USER);
      await waitFor('the new topic read', () => fromTopic(newTopic) === USERS.length * PER_USER, { timeoutMs: 60_000 });
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
    }

    // Each user on exactly one partition of the new topic: the one the oracle computes for 6.
    const byUser = await partitionsByUser(newTopic);
    for (const user of USERS) expect([...byUser.get(user)!], user).toEqual([partitionFor(user, 6)]);
    // And each user's events reached the consumer in the order produced, old topic then new.
    const order = (user: string) => seen.filter((s) => s.user === user).map((s) => s.seq);
    for (const user of USERS) expect(order(user), user).toEqual([...Array(2 * PER_USER).keys()]);
    console.log(`[partition-raise] new topic: ${USERS.map((u) => `${u}→${[...byUser.get(u)!][0]}`).join(', ')}; per-user order old then new kept for ${USERS.length} users`);
  });
});
