import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../infra/processes.js';
import { partitionFor } from '../../../shared/kafka.js';
import { describeGroup, waitForStableGroup } from '../../../shared/testing/groups.js';
import { enrichedEvent } from './events.js';
import { workerGroupFixture } from './fixture.js';

const f = workerGroupFixture('lab02-assign', { partitions: 2 });
const { topic, groupId } = f;
const start = (id: string) => f.startWorker({ id, env: { KAFKA_TOPIC: topic, CONSUMER_GROUP: groupId, METADATA_MAX_AGE_MS: '1000' } });

describe('a consumer group scales by partitions', () => {
  it('gives each of 2 workers one of the 2 partitions', async () => {
    start('worker-1');
    start('worker-2');
    const group = await waitForStableGroup(f.admin, groupId, topic, 2);
    expect(group.members).toEqual([
      { clientId: 'worker-1', partitions: [expect.any(Number)] },
      { clientId: 'worker-2', partitions: [expect.any(Number)] },
    ]);
    expect(group.members.flatMap((m) => m.partitions).sort()).toEqual([0, 1]);
  });

  it('leaves a 3rd worker idle while there are only 2 partitions', async () => {
    start('worker-3');
    const group = await waitForStableGroup(f.admin, groupId, topic, 3);
    expect(group.members.flatMap((m) => m.partitions).sort()).toEqual([0, 1]);
    expect(group.members.filter((m) => m.partitions.length === 0)).toHaveLength(1);
  });

  it('hands the new partition to the idle worker when partitions go from 2 to 3, and events for its keys reach it', async () => {
    await f.admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
    const group = await waitFor('every worker to own one partition', async () => {
      const g = await describeGroup(f.admin, groupId, topic);
      return g.state === 'Stable' && g.members.length === 3 && g.members.every((m) => m.partitions.length === 1) ? g : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    expect(group.members.flatMap((m) => m.partitions).sort()).toEqual([0, 1, 2]);

    // Keys that hash to the new partition 2.
    const users = Array.from({ length: 200 }, (_, i) => `new_user_${i}`).filter((u) => partitionFor(u, 3) === 2).slice(0, 5);
    const events = users.map((user) => enrichedEvent(user, 'login'));
    await f.producer.send({ topic, acks: -1, messages: events.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })) });

    const owner = group.members.find((m) => m.partitions[0] === 2)!.clientId;
    const processed = await waitFor('the new partition\'s events to be processed', () => {
      const rows = f.store.processed().filter((r) => users.includes(r.user_id));
      return rows.length === users.length ? rows : undefined;
    });
    expect(new Set(processed.map((r) => r.partition))).toEqual(new Set([2]));
    expect(new Set(processed.map((r) => r.worker_id))).toEqual(new Set([owner]));
  });
});
