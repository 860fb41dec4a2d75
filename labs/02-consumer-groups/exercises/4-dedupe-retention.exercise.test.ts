/**
 * Lab 02, exercise 4: `processed_events` grows forever. Prune it with a rule that keeps
 * exactly-once: a redelivery reaches back only to the group's committed offset, so a row below it
 * can go. The test crashes a worker mid-stream (as crash.test.ts does), lets a second one take
 * over, and checks both halves: the profiles are exact, and the table kept at most half the events.
 * Fails on the reference with: `expected 600 to be less than or equal to 300` (tools/learn/ci.ts checks it does, in CI).
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../infra/processes.js';
import { consumerLag, totalLag } from '../../../shared/lag.js';
import type { EnrichedEvent } from '../../../shared/schema.js';
import { enrichedEvent } from '../test/events.js';
import { workerGroupFixture } from '../test/fixture.js';

const f = workerGroupFixture('ex02-retention', { partitions: 2 });
const { topic, groupId } = f;
const USERS = 20;
const PER_USER = 30;

const start = (id: string) => f.startWorker({ id, env: { KAFKA_TOPIC: topic, CONSUMER_GROUP: groupId, PROCESS_DELAY_MS: '5', COMMIT_EVERY: '100' } });
const applied = () => Array.from({ length: USERS }, (_, u) => f.store.profile(`user_${u}`)?.event_count ?? 0).reduce((a, b) => a + b, 0);

describe('lab 02 exercise 4: a retention rule for processed_events', () => {
  it('after 600 events and a SIGKILL mid-stream, every profile is exact and processed_events holds at most 300 rows', async () => {
    start('worker-1');
    const events: EnrichedEvent[] = [];
    for (let u = 0; u < USERS; u++) for (let i = 0; i < PER_USER; i++) events.push(enrichedEvent(`user_${u}`, 'page_view'));
    await f.producer.send({ topic, acks: -1, messages: events.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })) });

    await waitFor('worker-1 mid-stream', () => applied() >= 200, { timeoutMs: 60_000 });
    await f.workers[0]!.process.kill();
    start('worker-2');
    await waitFor('lag 0', async () => totalLag(await consumerLag(f.admin, groupId, topic)) === 0 && applied() >= events.length,
      { timeoutMs: 90_000, intervalMs: 500 });

    const wrong = Array.from({ length: USERS }, (_, u) => [`user_${u}`, f.store.profile(`user_${u}`)?.event_count] as const)
      .filter(([, count]) => count !== PER_USER);
    console.log(`applied=${applied()} of ${events.length}; processed_events rows=${f.store.processedCount()}`);
    expect(Object.fromEntries(wrong), `users whose event_count is not ${PER_USER}`).toEqual({});
    expect(f.store.processedCount()).toBeLessThanOrEqual(events.length / 2);
  });
});
