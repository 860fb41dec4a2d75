import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dlqReplayGroupOf, retryGroupOf } from '../../../shared/config.js';
import { waitFor } from '../../../infra/processes.js';
import { startWorker, type WorkerProcess } from '../../../infra/worker.js';
import { createEventProducer, createKafka } from '../../../shared/kafka.js';
import { consumerLag, totalLag } from '../../../shared/lag.js';
import { createTopic, topicMessageCount, uniqueTopic } from '../../../shared/testing/kafka.js';
import { DeadLetterQueue } from '../src/dlq.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('lab04-pause');
const retryTopic = uniqueTopic('lab04-pause-retry');
const dlqTopic = uniqueTopic('lab04-pause-dlq');
const groupId = uniqueTopic('crm-event-processors');
const dir = mkdtempSync(join(tmpdir(), 'lab04-pause-'));
const env = { KAFKA_TOPIC: topic, KAFKA_RETRY_TOPIC: retryTopic, KAFKA_DLQ_TOPIC: dlqTopic, CONSUMER_GROUP: groupId };
const workers: WorkerProcess[] = [];
let admin: Admin;
let producer: Producer;

const start = (id: string, extra: Record<string, string>) => {
  const w = startWorker({ id, kind: 'with-dlq', brokers, profileDb: join(dir, 'profiles.db'), logDir: dir, env: { ...env, ...extra } });
  workers.push(w);
  return w;
};

/** The exit of a worker that should refuse to start; a running worker fails the test instead of hanging it. */
async function refusal(w: WorkerProcess): Promise<{ code: number | string; log: string }> {
  const code = await Promise.race([w.process.exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 30_000))]);
  return { code, log: readFileSync(w.process.logFile, 'utf8') };
}

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  await createTopic(brokers, retryTopic, 1);
  await createTopic(brokers, dlqTopic, 1);
  const kafka = createKafka(brokers, 'lab04-pause-test');
  admin = kafka.admin();
  await admin.connect();
  producer = createEventProducer(kafka);
  await producer.connect();
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.process.stop()));
  await producer?.disconnect();
  await admin?.disconnect();
});

describe('the retry lane waits without leaving the group', () => {
  it('keeps its membership through a backoff longer than the session timeout (10 s): one dead letter, no rebalance', async () => {
    // 2 attempts: the first fails in the main lane, the second waits 12 s in the retry lane.
    const worker = start('worker-long-backoff', { RETRY_MAX_ATTEMPTS: '2', RETRY_BASE_MS: '12000' });
    const poison = { schema_version: 2, event_id: randomUUID(), user: { id: 'user_v2' } };
    await producer.send({ topic, acks: -1, messages: [{ key: 'user_v2', value: JSON.stringify(poison) }] });

    const dlq = new DeadLetterQueue(admin, brokers, dlqTopic, dlqReplayGroupOf(groupId));
    await waitFor('the dead letter', async () => (await dlq.depth()) >= 1, { timeoutMs: 60_000, intervalMs: 500 });
    await waitFor('the retry lane to commit past it', async () => totalLag(await consumerLag(admin, retryGroupOf(groupId), retryTopic)) === 0);
    const log = readFileSync(worker.process.logFile, 'utf8');
    const joins = log.split('\n').filter((line) => line.includes('joined the group'));
    console.log(`dead letters=${await topicMessageCount(brokers, dlqTopic)} joins=${joins.length}`);

    // An expired session would make the retry lane rejoin, get the message again and dead-letter it twice.
    expect(await topicMessageCount(brokers, dlqTopic)).toBe(1);
    expect(await topicMessageCount(brokers, retryTopic)).toBe(1);
    expect(joins).toHaveLength(2); // one join per lane, none after
    expect((await dlq.pending())[0]!.failure?.attempts).toBe(2);
  }, 120_000);

  it('refuses settings that cannot work, with a message that says why', async () => {
    // A locked store blocks the whole process (SQLite waits synchronously): no heartbeat for that long.
    const busy = await refusal(start('worker-busy', { STORE_BUSY_TIMEOUT_MS: '20000' }));
    expect(busy.code).not.toBe('still running');
    expect(busy.log).toContain('STORE_BUSY_TIMEOUT_MS (20000) must be shorter than the session timeout (10000 ms)');
    // Backoffs beyond what a timer can wait (2^31 - 1 ms, ~24.8 days) would fire at once.
    const overflow = await refusal(start('worker-overflow', { RETRY_MAX_ATTEMPTS: '40', RETRY_BASE_MS: '1000' }));
    expect(overflow.code).not.toBe('still running');
    expect(overflow.log).toContain('the longest backoff');
  });
});
