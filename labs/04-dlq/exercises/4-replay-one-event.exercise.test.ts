/**
 * Lab 04, exercise 4: `npm run dlq -- replay --event-id <id>` replays that one dead letter.
 * Today the flag is ignored and every pending entry is replayed.
 * Fails on the reference with: `to have a length of 1 but got 3` (tools/learn/ci.ts checks it does, in CI).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../../../infra/test/run-tsx.js';
import { createEventProducer, createKafka } from '../../../shared/kafka.js';
import { createTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { readRawTopic } from '../src/raw-records.js';
import { encodeFailureHeaders } from '../src/retry-policy.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('ex04-replay-events');
const dlqTopic = uniqueTopic('ex04-replay-dlq');
const env = {
  KAFKA_TOPIC: topic, KAFKA_DLQ_TOPIC: dlqTopic, CONSUMER_GROUP: uniqueTopic('crm-event-processors'),
  AUDIT_LOG: join(mkdtempSync(join(tmpdir(), 'ex04-audit-')), 'audit.log'),
};
const ids = [randomUUID(), randomUUID(), randomUUID()];
let producer: Producer;

const dlqCli = (...args: string[]) => runCli('labs/04-dlq/src/dlq-cli.ts', args, { ...env, KAFKA_BROKERS: brokers.join(',') });

beforeAll(async () => {
  await createTopic(brokers, topic, 1);
  await createTopic(brokers, dlqTopic, 1);
  producer = createEventProducer(createKafka(brokers, 'ex04-replay'));
  await producer.connect();
  await producer.send({
    topic: dlqTopic, acks: -1, messages: ids.map((id, offset) => ({
      key: `u${offset}`, value: JSON.stringify({ event_id: id, user_id: `u${offset}`, event_type: 'login' }),
      headers: encodeFailureHeaders({ attempts: 4, attemptTimes: [1, 2, 3, 4], lastError: 'boom', retryAt: 5, original: { topic, partition: 0, offset } }),
    })),
  });
});
afterAll(async () => {
  await producer?.disconnect();
});

describe('lab 04 exercise 4: replay one dead letter by its event_id', () => {
  it('`replay --event-id <the 2nd>` puts exactly that event back on the main topic; the other two are still listed as pending', async () => {
    const replay = await dlqCli('replay', '--event-id', ids[1]!);
    console.log(replay.stdout.trim(), replay.stderr.trim());
    expect(replay.code).toBe(0);
    const replayed = (await readRawTopic(brokers, topic)).map((r) => JSON.parse(r.value!.toString()).event_id as string);
    expect(replayed).toHaveLength(1);
    expect(replayed).toEqual([ids[1]]);

    const list = await dlqCli('list');
    expect(list.code).toBe(0);
    expect([list.stdout.includes(ids[0]!), list.stdout.includes(ids[2]!)]).toEqual([true, true]);
  });
});
