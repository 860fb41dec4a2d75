/**
 * Lab 04, exercise 2: an event that can never succeed (it fails the schema) is dead-lettered at
 * its first attempt, not retried RETRY_MAX_ATTEMPTS times through the retry topic. Add a
 * `NonRetriableError` that `mainLane` dead-letters at once, and use it for schema errors.
 * Fails on the reference with: `expected { attempts: 4, retryRecords: 3 } to deeply equal { attempts: 1, retryRecords: +0 }` (tools/learn/ci.ts checks it does, in CI).
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../infra/processes.js';
import { dlqReplayGroupOf } from '../../../shared/config.js';
import { topicMessageCount } from '../../../shared/testing/kafka.js';
import { enrichedEvent } from '../../02-consumer-groups/test/events.js';
import { workerGroupFixture } from '../../02-consumer-groups/test/fixture.js';
import { DeadLetterQueue } from '../src/dlq.js';
import type { EventV2 } from '../src/schema-v2.js';

const f = workerGroupFixture('ex04-nonretriable', { partitions: 1, sideTopics: ['retry', 'dlq'] });
const { brokers, topic, groupId } = f;
const { retry: retryTopic, dlq: dlqTopic } = f.side;
const env = {
  KAFKA_TOPIC: topic, KAFKA_RETRY_TOPIC: retryTopic, KAFKA_DLQ_TOPIC: dlqTopic, CONSUMER_GROUP: groupId,
  RETRY_MAX_ATTEMPTS: '4', RETRY_BASE_MS: '100',
};
let dlq: DeadLetterQueue;

beforeAll(() => {
  dlq = new DeadLetterQueue(f.admin, brokers, dlqTopic, dlqReplayGroupOf(groupId));
  f.startWorker({ id: 'worker-ex04', kind: 'with-dlq', env });
});

describe('lab 04 exercise 2: a schema error is dead-lettered at once', () => {
  it('an event that fails the schema reaches the DLQ after 1 attempt, with no record in the retry topic; the good event after it is applied', async () => {
    // A v2-shaped event: the worker's v1 schema refuses it (no user_id), whatever the attempt.
    const poison: EventV2 = {
      schema_version: 2, event_id: randomUUID(), user: { id: 'user_v2' }, type: 'login', props: {},
      server_timestamp: new Date().toISOString(), client_ip: '127.0.0.1',
    };
    const good = enrichedEvent('user_after_poison', 'login');
    await f.producer.send({ topic, acks: -1, messages: [
      { key: poison.user.id, value: JSON.stringify(poison) },
      { key: good.user_id, value: JSON.stringify(good) },
    ] });

    await waitFor('1 dead letter and the good event applied', async () =>
      (await dlq.depth()) === 1 && f.store.processedCount() === 1, { timeoutMs: 60_000, intervalMs: 500 });
    const [letter] = await dlq.pending();
    expect(letter!.value).toEqual(poison);
    expect(letter!.failure!.lastError).toContain('user_id');
    expect({ attempts: letter!.failure!.attempts, retryRecords: await topicMessageCount(brokers, retryTopic) })
      .toEqual({ attempts: 1, retryRecords: 0 });
  });
});
