import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../infra/processes.js';
import { enrichedEvent } from './events.js';
import { workerGroupFixture } from './fixture.js';

const f = workerGroupFixture('lab02-poison', { partitions: 1 });
const { topic, groupId } = f;

describe('a poison event without a retry lane (lab 02)', () => {
  it('applies and commits the events before it in its batch, and stops there: nothing after it is applied', async () => {
    const before = Array.from({ length: 10 }, () => enrichedEvent('user_p', 'login'));
    const after = Array.from({ length: 5 }, () => enrichedEvent('user_p', 'login'));
    // One send: the 16 records arrive in one fetched batch, the poison one at offset 10.
    await f.producer.send({
      topic, acks: -1, messages: [
        ...before.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })),
        { key: 'user_p', value: '{"not":"an event"}' },
        ...after.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })),
      ],
    });
    const worker = f.startWorker({ id: 'worker-1', env: { KAFKA_TOPIC: topic, CONSUMER_GROUP: groupId } });

    const committed = async () => Number((await f.admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions[0]!.offset);
    await waitFor('the events before the poison one to be committed', async () => (await committed()) === 10, { timeoutMs: 60_000, intervalMs: 250 });
    // kafkajs restarts the consumer and delivers the poison event again: it stays at the head of the partition.
    const attempts = () => readFileSync(worker.process.logFile, 'utf8').split('Error when calling eachBatch').length - 1;
    await waitFor('a second attempt at the poison event', () => attempts() >= 2, { timeoutMs: 60_000, intervalMs: 250 });
    expect(f.store.processed().map((p) => p.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(f.store.profile('user_p')).toMatchObject({ login_count: 10, event_count: 10 });
    expect(await committed()).toBe(10);
  });
});
