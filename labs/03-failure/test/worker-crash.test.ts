/**
 * Scenario 3: a worker dies between processing and commit, twice over: a SIGKILL, then a
 * network cut between one worker and the broker (Toxiproxy). Events come through the real API;
 * the complete worker (lab 04: retry lane and DLQ) processes them into the profile store.
 * Every test proves its fault bites before it asserts recovery, and that the store is exact.
 */
import { Toxiproxy } from 'toxiproxy-node-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../../../infra/processes.js';
import { waitForStableGroup } from '../../../shared/testing/groups.js';
import { createTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { startInProcessApi, type InProcessApi } from '../../01-ingest/test/in-process-api.js';
import { checkScenario, Ledger, markTopic, reportTimeline, runLoad, summaryLine } from '../src/chaos.js';
import { sampleLag } from '../src/lag-sampler.js';
import { violations } from '../src/checker.js';
import { scenarioWorkers, type ScenarioWorkers } from '../src/workers.js';

const { brokers, proxiedBrokers, toxiproxyUrl, kafkaProxyName } = inject('kafka');
const topic = uniqueTopic('lab03-worker');
const toxiproxy = new Toxiproxy(toxiproxyUrl);
let api: InProcessApi;
let consumers: ScenarioWorkers;

const processedBy = (id: string) => consumers.store.processed().filter((r) => r.worker_id === id).length;

async function setProxyEnabled(enabled: boolean) {
  const proxy = await toxiproxy.get(kafkaProxyName);
  await proxy.update({ enabled, listen: proxy.listen, upstream: proxy.upstream });
}

/** Load through the API: 20 users, a third of the events logins. */
function load(ledger: Ledger, label: string, maxEvents: number) {
  return runLoad({
    baseUrl: api.url, ledger, clients: 4, ratePerClient: 40, maxEvents,
    localAddress: (c) => `127.0.4.${c + 1}`,
    event: (n) => ({ user_id: `${label}_user_${n % 20}`, event_type: n % 3 === 0 ? 'login' : 'page_view', properties: { n } }),
  });
}

beforeAll(async () => {
  await setProxyEnabled(true);
  await createTopic(brokers, topic, 2);
  api = await startInProcessApi(brokers, { KAFKA_TOPIC: topic, RATE_LIMIT_MAX: '100000', LOG_LEVEL: 'error' });
  // Slow processing, commits only at the end of a batch: a crash mid-batch leaves work uncommitted.
  consumers = await scenarioWorkers({ brokers, topic, label: 'lab03-worker', env: { PROCESS_DELAY_MS: '20', COMMIT_EVERY: '100000' } });
});
afterAll(async () => {
  await setProxyEnabled(true);
  await consumers?.close();
  await api?.close();
});

describe('scenario 3: a worker dies mid-processing', () => {
  it('SIGKILL between processing and commit: the survivor reprocesses, duplicates are skipped, profiles stay exact', async () => {
    const mark = await markTopic(brokers, topic);
    const ledger = new Ledger();
    const loading = load(ledger, 'kill', 400);
    const lag = sampleLag(consumers.admin, consumers.groupId, topic, { now: () => ledger.now() });
    // A backlog first, so that each worker's first batch is long: killed after 30 events of it,
    // worker-1 has applied work it has not committed (with small batches the kill could land
    // right after a commit and prove nothing).
    await waitFor('a backlog of 150 events', () => ledger.count(202) >= 150, { timeoutMs: 60_000 });
    consumers.start('worker-1', brokers);
    consumers.start('worker-2', brokers);
    await waitForStableGroup(consumers.admin, consumers.groupId, topic, 2);
    // What worker-1 applied at or beyond its group's committed offset will be delivered again.
    // (Rows first, offsets second: a commit in between is seen, so the count is never too high.)
    const uncommittedBy = async (id: string) => {
      const applied = consumers.store.processed().filter((r) => r.worker_id === id);
      const [committed] = await consumers.admin.fetchOffsets({ groupId: consumers.groupId, topics: [topic] });
      const committedAt = new Map(committed!.partitions.map((p) => [p.partition, Number(p.offset)]));
      return applied.filter((r) => r.offset >= (committedAt.get(r.partition) ?? -1)).length;
    };
    // Counted from the settled group: what worker-1 applied before worker-2 joined was committed when
    // the rebalance took a partition away (seen: killed at exactly that point, nothing uncommitted).
    const appliedBeforeSettled = processedBy('worker-1');
    await waitFor('worker-1 mid-batch', () => processedBy('worker-1') >= appliedBeforeSettled + 30, { timeoutMs: 60_000, intervalMs: 20 });
    const killed = ledger.fault('worker-1 SIGKILLed');
    await consumers.workers.get('worker-1')!.process.kill();
    const uncommitted = await uncommittedBy('worker-1');
    await loading;
    await consumers.drain();
    killed();

    const verdict = await checkScenario(brokers, mark, ledger, consumers.store);
    const duplicates = consumers.store.duplicatesSkipped();
    console.log(summaryLine('worker SIGKILL', ledger, verdict, {}, {
      processed_by_killed: processedBy('worker-1'), uncommitted_at_kill: uncommitted, consumed: consumers.store.processedCount(), duplicates_skipped: duplicates,
    }));
    reportTimeline('worker-sigkill', ledger, await lag.stop());
    // Ingest untouched (nothing lost, stray, duplicated or reordered); every stored event applied
    // once: each user's login_count, event_count and last_seen exactly what its distinct events say.
    expect(violations(verdict)).toEqual([]);
    expect(verdict.counts.applied).toBe(verdict.counts.distinct);
    // Each client sends one event at a time: its events for a user were compared in pairs.
    expect(verdict.counts.orderChecks).toBeGreaterThan(0);
    // The kill left work uncommitted, and exactly that work came back and was skipped.
    expect(uncommitted).toBeGreaterThan(0);
    expect(consumers.store.duplicatesOfWorkBy('worker-1')).toBe(uncommitted);
    expect((await waitForStableGroup(consumers.admin, consumers.groupId, topic, 1)).members).toEqual([{ clientId: 'worker-2', partitions: [0, 1] }]);
  });

  it('network cut between a worker and Kafka: the group drops it, the other worker takes over, and it rejoins after the cut', async () => {
    consumers.start('worker-3', proxiedBrokers); // only this worker goes through Toxiproxy
    await waitForStableGroup(consumers.admin, consumers.groupId, topic, 2);
    const duplicatesBefore = consumers.store.duplicatesSkipped();
    const mark = await markTopic(brokers, topic);
    const ledger = new Ledger();
    const loading = load(ledger, 'cut', 400);
    const lag = sampleLag(consumers.admin, consumers.groupId, topic, { now: () => ledger.now() });
    await waitFor('worker-3 processing', () => processedBy('worker-3') >= 20, { timeoutMs: 60_000 });

    const healedAt = ledger.fault('worker-3 cut off from Kafka');
    await setProxyEnabled(false);
    // The fault bites: the broker stops hearing worker-3 and gives its partition to worker-2.
    const cutGroup = await waitForStableGroup(consumers.admin, consumers.groupId, topic, 1, 60_000);
    expect(cutGroup.members).toEqual([{ clientId: 'worker-2', partitions: [0, 1] }]);
    const byCutWorker = processedBy('worker-3');
    await loading;
    await consumers.drain();

    await setProxyEnabled(true);
    healedAt();
    const healed = await waitForStableGroup(consumers.admin, consumers.groupId, topic, 2, 90_000);
    expect(healed.members.map((m) => m.clientId)).toEqual(['worker-2', 'worker-3']);

    const verdict = await checkScenario(brokers, mark, ledger, consumers.store);
    console.log(summaryLine('worker network cut', ledger, verdict, {}, {
      consumed: consumers.store.processedCount(), processed_by_cut_worker: byCutWorker, duplicates_skipped: consumers.store.duplicatesSkipped() - duplicatesBefore,
    }));
    reportTimeline('worker-network-cut', ledger, await lag.stop());
    expect(violations(verdict)).toEqual([]);
    expect(verdict.counts.applied).toBe(verdict.counts.distinct);
    expect(verdict.counts.orderChecks).toBeGreaterThan(0);
  });
});
