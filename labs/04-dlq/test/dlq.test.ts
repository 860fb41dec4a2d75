import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../infra/paths.js';
import { dlqReplayGroupOf, retryGroupOf } from '../../../shared/config.js';
import { freePort, waitFor } from '../../../infra/processes.js';
import type { WorkerProcess } from '../../../infra/worker.js';
import { consumerLag, totalLag } from '../../../shared/lag.js';
import { readTopic, topicMessageCount } from '../../../shared/testing/kafka.js';
import { enrichedEvent } from '../../02-consumer-groups/test/events.js';
import { workerGroupFixture } from '../../02-consumer-groups/test/fixture.js';
import { scrape, sum } from '../../../shared/observability/prom-text.js';
import { DeadLetterQueue } from '../src/dlq.js';
import type { EventV2 } from '../src/schema-v2.js';

const f = workerGroupFixture('lab04-events', { partitions: 2, sideTopics: ['retry', 'dlq'] });
const { brokers, topic, groupId, profileDb } = f;
const { retry: retryTopic, dlq: dlqTopic } = f.side;
const MAX_ATTEMPTS = 4;
const env = {
  KAFKA_TOPIC: topic, KAFKA_RETRY_TOPIC: retryTopic, KAFKA_DLQ_TOPIC: dlqTopic, CONSUMER_GROUP: groupId,
  RETRY_MAX_ATTEMPTS: String(MAX_ATTEMPTS), RETRY_BASE_MS: '100', STORE_BUSY_TIMEOUT_MS: '50',
};
let worker: WorkerProcess;
let dlq: DeadLetterQueue;
let metricsPort: number;

const poison: EventV2 = {
  schema_version: 2, event_id: randomUUID(), user: { id: 'user_v2' }, type: 'login', props: {},
  server_timestamp: new Date().toISOString(), client_ip: '127.0.0.1',
};

const lagOf = async (group: string, t: string) => totalLag(await consumerLag(f.admin, group, t));
const dlqCli = (...args: string[]) =>
  promisify(execFile)(join(repoRoot, 'node_modules', '.bin', 'tsx'), ['labs/04-dlq/src/dlq-cli.ts', ...args], {
    cwd: repoRoot, env: { ...process.env, ...env, KAFKA_BROKERS: brokers.join(',') },
  });

beforeAll(async () => {
  dlq = new DeadLetterQueue(f.admin, brokers, dlqTopic, dlqReplayGroupOf(groupId));
  metricsPort = await freePort();
  worker = f.startWorker({ id: 'worker-v1', kind: 'with-dlq', env: { ...env, METRICS_PORT: String(metricsPort) } });
});

describe('retries, dead letters and replay', () => {
  it('dead-letters one poison event among 1,000 after exactly N attempts with growing delays; the other 999 are processed in order', async () => {
    const good = Array.from({ length: 999 }, (_, i) => enrichedEvent(`user_${i % 37}`, i % 5 === 0 ? 'login' : 'page_view', { seq: i }));
    const messages = good.map((e) => ({ key: e.user_id, value: JSON.stringify(e) }));
    const poisonMessage = { key: poison.user.id, value: JSON.stringify(poison), headers: { request_id: 'poison-request' } };
    messages.splice(500, 0, poisonMessage);
    await f.producer.send({ topic, acks: -1, messages });

    await waitFor('999 processed and 1 dead letter', async () =>
      f.store.processedCount() === 999 && (await dlq.depth()) === 1, { timeoutMs: 90_000, intervalMs: 500 });
    await waitFor('both lanes drained', async () => (await lagOf(groupId, topic)) === 0 && (await lagOf(retryGroupOf(groupId), retryTopic)) === 0);

    const processed = f.store.processed();
    for (let u = 0; u < 37; u++) {
      const user = `user_${u}`;
      expect(processed.filter((p) => p.user_id === user).map((p) => p.event_id)).toEqual(good.filter((e) => e.user_id === user).map((e) => e.event_id));
    }
    const [letter] = await dlq.pending();
    const gaps = letter!.failure!.attemptTimes.slice(1).map((t, i) => t - letter!.failure!.attemptTimes[i]!);
    console.log(`poison event: attempts=${letter!.failure!.attempts} backoff gaps ms=${JSON.stringify(gaps)} error=${letter!.failure!.lastError.slice(0, 80)}`);
    expect(letter!.value).toEqual(poison);
    expect(letter!.headers.request_id).toBe('poison-request'); // the event's own headers travel with it
    expect(letter!.failure!.attempts).toBe(MAX_ATTEMPTS);
    expect(letter!.failure!.original.topic).toBe(topic);
    expect(letter!.failure!.lastError).toContain('user_id');
    expect(gaps).toHaveLength(MAX_ATTEMPTS - 1);
    // Attempt k+1 never starts before its backoff of 100 ms × 2^(k-1) has passed: 100, 200, 400.
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(100 * 2 ** i));
    // Each retry was its own record in the retry topic, and the worker's metrics say the same.
    expect(await topicMessageCount(brokers, retryTopic)).toBe(MAX_ATTEMPTS - 1);
    const metrics = await scrape(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(sum(metrics, 'retries_total')).toBe(MAX_ATTEMPTS - 1);
    expect(sum(metrics, 'processing_failures_total')).toBe(MAX_ATTEMPTS); // every failed attempt, main lane and retry lane
    expect(sum(metrics, 'dlq_depth', { topic: dlqTopic })).toBe(1);
    expect(sum(metrics, 'events_processed_total', { result: 'dead-lettered' })).toBe(1);
  });

  it('retries a transient failure (the profile store locked) until it succeeds, with no dead letter', async () => {
    const retriesBefore = await topicMessageCount(brokers, retryTopic);
    const locker = new Database(profileDb);
    locker.exec('BEGIN EXCLUSIVE');
    const event = enrichedEvent('user_transient', 'login');
    try {
      await f.producer.send({ topic, acks: -1, messages: [{ key: event.user_id, value: JSON.stringify(event) }] });
      await waitFor('a retry to be scheduled', async () => (await topicMessageCount(brokers, retryTopic)) > retriesBefore);
    } finally {
      locker.exec('COMMIT');
      locker.close();
    }
    await waitFor('the event to be processed', () => f.store.profile('user_transient'));
    expect(f.store.profile('user_transient')).toMatchObject({ login_count: 1, event_count: 1 });
    expect(await dlq.depth()).toBe(1); // only the poison event
  });

  it('after the fix, `npm run dlq -- replay` empties the DLQ and the profile reflects the event once, even if replayed twice', async () => {
    const list = await dlqCli('list');
    expect(list.stdout).toContain('1 pending');
    expect(list.stdout).toContain(poison.event_id);

    // The fix: a worker that understands schema v2 replaces the old one.
    await worker.process.stop();
    worker = f.startWorker({ id: 'worker-v2', kind: 'with-dlq', env: { ...env, SUPPORTED_SCHEMA_VERSION: '2' } });

    const replay = await dlqCli('replay');
    console.log(replay.stdout.trim());
    expect(replay.stdout).toContain('replayed 1');
    expect(await dlq.depth()).toBe(0);
    expect((await dlqCli('list')).stdout).toContain('0 pending');

    await waitFor('the replayed event to be processed', () => f.store.profile('user_v2'));
    // Someone replays the same record again: the worker recognises its event_id.
    const [again] = (await readTopic(brokers, topic)).filter((r) => r.headers.replayed_from !== undefined);
    await f.producer.send({ topic, acks: -1, messages: [{ key: again!.key, value: JSON.stringify(again!.value) }] });
    await waitFor('the second replay to be consumed', async () => (await lagOf(groupId, topic)) === 0);
    await waitFor('a duplicate to be skipped', () => f.store.duplicatesSkipped() >= 1);
    expect(f.store.profile('user_v2')).toMatchObject({ login_count: 1, event_count: 1 });
  });
});
