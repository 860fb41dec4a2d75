import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../infra/processes.js';
import type { WorkerProcess } from '../../../infra/worker.js';
import { consumerLag, totalLag } from '../../../shared/lag.js';
import type { EnrichedEvent } from '../../../shared/schema.js';
import { waitForStableGroup } from '../../../shared/testing/groups.js';
import { enrichedEvent } from './events.js';
import { workerGroupFixture } from './fixture.js';

const f = workerGroupFixture('lab02-crash', { partitions: 2 });
const { topic, groupId } = f;
const workers = new Map<string, WorkerProcess>();
const expected = new Map<string, { logins: number; events: number }>();

// Slow processing (small transactions) and a commit only at the end of each batch: a crash lands between processing and commit.
const start = (id: string) =>
  workers.set(id, f.startWorker({ id, env: { KAFKA_TOPIC: topic, CONSUMER_GROUP: groupId, PROCESS_DELAY_MS: '10', COMMIT_EVERY: '100000' } }));

/** 20 users × `perUser` events, a third of them logins; remembers what each profile must show. */
async function produceEvents(perUser: number): Promise<number> {
  const events: EnrichedEvent[] = [];
  for (let u = 0; u < 20; u++) {
    for (let i = 0; i < perUser; i++) {
      const user = `user_${u}`;
      const type = i % 3 === 0 ? 'login' : 'page_view';
      events.push(enrichedEvent(user, type));
      const e = expected.get(user) ?? { logins: 0, events: 0 };
      expected.set(user, { logins: e.logins + (type === 'login' ? 1 : 0), events: e.events + 1 });
    }
  }
  await f.producer.send({ topic, acks: -1, messages: events.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })) });
  return events.length;
}

async function waitUntilDrained(total: number) {
  await waitFor('lag 0 and every event processed', async () =>
    totalLag(await consumerLag(f.admin, groupId, topic)) === 0 && f.store.processedCount() === total, { timeoutMs: 90_000, intervalMs: 500 });
}

function expectExactProfiles() {
  for (const [user, e] of expected) {
    expect({ user, ...f.store.profile(user) }).toMatchObject({ user, login_count: e.logins, event_count: e.events });
  }
}

describe('worker crashes and graceful stops', () => {
  it('after a SIGKILL mid-batch, the survivor reprocesses the uncommitted events and skips them as duplicates: profiles stay exact', async () => {
    start('worker-1');
    start('worker-2');
    await waitForStableGroup(f.admin, groupId, topic, 2);
    const total = await produceEvents(15);

    await waitFor('worker-1 to be mid-batch', () => f.store.processed().filter((r) => r.worker_id === 'worker-1').length >= 20);
    await workers.get('worker-1')!.process.kill();
    const processedByVictim = f.store.processed().filter((r) => r.worker_id === 'worker-1');
    // What worker-1 applied at or beyond the offset it last committed: applied, not committed.
    const [committed] = await f.admin.fetchOffsets({ groupId, topics: [topic] });
    const committedAt = new Map(committed!.partitions.map((p) => [p.partition, Number(p.offset)]));
    const uncommitted = processedByVictim.filter((r) => r.offset >= (committedAt.get(r.partition) ?? -1)).map((r) => r.event_id).sort();

    await waitUntilDrained(total);
    const group = await waitForStableGroup(f.admin, groupId, topic, 1);
    const redone = f.store.duplicatesOfWorkBy('worker-1');
    console.log(`sent=${total} processed=${f.store.processedCount()} by_killed_worker=${processedByVictim.length} uncommitted_at_kill=${uncommitted.length} duplicates_of_its_work=${redone} group=${JSON.stringify(group.members)}`);

    expect(group.members).toEqual([{ clientId: 'worker-2', partitions: [0, 1] }]);
    // The crash landed between processing and commit...
    expect(uncommitted.length).toBeGreaterThan(0);
    // ...and exactly those events came back to the survivor, which skipped each of them.
    expect(f.store.duplicateDeliveriesOfWorkBy('worker-1')).toEqual(uncommitted.map((event_id) => ({ event_id, skipped_by: 'worker-2' })));
    expect(redone).toBe(uncommitted.length);
    expectExactProfiles();
  });

  it('on SIGTERM a worker commits what it processed and leaves the group: the next owner sees no duplicate', async () => {
    start('worker-3');
    await waitForStableGroup(f.admin, groupId, topic, 2);
    const redoneBefore = f.store.duplicatesOfWorkBy('worker-2');
    const total = f.store.processedCount() + (await produceEvents(10));

    await waitFor('worker-2 to be mid-batch', () => f.store.processedCount() >= total - 150);
    const worker2 = workers.get('worker-2')!;
    await worker2.process.stop();
    expect(await worker2.process.exited).toBe(0);

    await waitUntilDrained(total);
    // Nothing worker-2 applied was delivered again. (worker-3 may redo some of its own work when
    // worker-2's leaving rebalances it mid-batch: that is the rebalance, not the graceful stop.)
    expect(f.store.duplicatesOfWorkBy('worker-2')).toBe(redoneBefore);
    expectExactProfiles();
  });
});
