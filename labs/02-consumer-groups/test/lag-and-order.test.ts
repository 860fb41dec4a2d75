import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../infra/paths.js';
import { waitFor } from '../../../infra/processes.js';
import { consumerLag, totalLag } from '../../../shared/lag.js';
import { track } from '../../../shared/testing/http.js';
import { startInProcessApi, type InProcessApi } from '../../01-ingest/test/in-process-api.js';
import { workerGroupFixture } from './fixture.js';

const f = workerGroupFixture('lab02-lag', { partitions: 2 });
const { brokers, topic, groupId } = f;
let api: InProcessApi;

beforeAll(async () => {
  api = await startInProcessApi(brokers, { KAFKA_TOPIC: topic, RATE_LIMIT_MAX: '100000' });
});
afterAll(() => api?.close());

describe('consumer lag and per-user order', () => {
  const accepted: { user: string; seq: number; event_id: string }[] = [];

  it('reports lag equal to the accepted events while no worker runs, and `npm run lag` prints it', async () => {
    for (let seq = 0; seq < 60; seq++) {
      // Interleave three users; each user's events are sent one after the other.
      await Promise.all(['alice', 'bob', 'carol'].map(async (user) => {
        const res = await track(api.url, { user_id: user, event_type: seq % 10 === 0 ? 'login' : 'page_view', properties: { seq } });
        expect(res.status).toBe(202);
        accepted.push({ user, seq, event_id: res.body.event_id });
      }));
    }
    // The group has committed nothing yet: lag counts from the log start.
    expect(totalLag(await consumerLag(f.admin, groupId, topic))).toBe(180);

    const { stdout } = await promisify(execFile)(join(repoRoot, 'node_modules', '.bin', 'tsx'), ['labs/02-consumer-groups/src/lag.ts'], {
      cwd: repoRoot,
      env: { ...process.env, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC: topic, CONSUMER_GROUP: groupId },
    });
    console.log(stdout);
    expect(stdout).toContain('total lag: 180');
  });

  it('drains the lag to 0 once a worker runs, processing each user\'s events in the order they were accepted', async () => {
    f.startWorker({ id: 'worker-1', env: { KAFKA_TOPIC: topic, CONSUMER_GROUP: groupId } });
    await waitFor('lag 0', async () => totalLag(await consumerLag(f.admin, groupId, topic)) === 0, { timeoutMs: 60_000, intervalMs: 500 });

    const processed = f.store.processed();
    expect(processed).toHaveLength(180);
    for (const user of ['alice', 'bob', 'carol']) {
      const acceptedOrder = accepted.filter((a) => a.user === user).sort((a, b) => a.seq - b.seq).map((a) => a.event_id);
      expect(processed.filter((p) => p.user_id === user).map((p) => p.event_id)).toEqual(acceptedOrder);
      expect(f.store.profile(user)).toMatchObject({ login_count: 6, event_count: 60 });
    }
  });

  it('applied that backlog in a few SQLite transactions and commits, not one per event', async () => {
    const [worker] = f.workers;
    await worker!.process.stop();
    // On SIGTERM the worker logs its counters: {"stats":[{"applied":180,…,"commits":…,"transactions":…}],"msg":"stopped"}.
    const line = readFileSync(worker!.process.logFile, 'utf8').split('\n').find((l) => l.includes('"msg":"stopped"'));
    const [stats] = (JSON.parse(line!) as { stats: { applied: number; transactions: number; commits: number }[] }).stats;
    console.log(`180 events: ${stats!.transactions} transactions, ${stats!.commits} commits`);
    expect(stats!.applied).toBe(180);
    // One fetched batch per partition holds the whole backlog here; a refetch or two may split it.
    expect(stats!.transactions).toBeGreaterThanOrEqual(2);
    expect(stats!.transactions).toBeLessThanOrEqual(10);
    expect(stats!.commits).toBeLessThanOrEqual(10);
  });
});
