/**
 * Scenario 5: the partition leader crashes in a 3-broker KRaft cluster (replication factor 3,
 * min.insync.replicas 2, producer acks=all). A follower that has every acked write takes over;
 * clients see a few 503s while the controller fences the dead broker, and no 202 is lost.
 * This file starts its own cluster (3 JVMs of 384 MB) instead of using the shared broker.
 *
 * The producer is the lab's default (KAFKA_PRODUCER_IDEMPOTENT in shared/config.ts: idempotent,
 * batching); LAB03_FAILOVER_IDEMPOTENT=true|false overrides it for this run.
 * The line says which producer ran. Duplicates are judged by where they come from: copies within
 * the client's HTTP attempts (a retry after a 503 whose write had landed) are tolerated up to the
 * events that got a 503; copies beyond them were made by the producer itself — 0 when it is
 * idempotent, at most one per request in flight at the crash when it is not, each one extra copy.
 * A worker (lab 04's), started on the two surviving brokers once the new leaders are elected, applies
 * the whole range to its profile store: the checker judges `applied` too.
 * labs/03-failure/failover-loop.sh runs this file N times in a row (README, scenario 5).
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReplicatedTopic, startKafkaCluster, type KafkaCluster } from '../../../infra/kafka-cluster.js';
import { waitFor } from '../../../infra/processes.js';
import { createKafka } from '../../../shared/kafka.js';
import { uniqueTopic } from '../../../shared/testing/kafka.js';
import { startInProcessApi, type InProcessApi } from '../../01-ingest/test/in-process-api.js';
import { checkScenario, Ledger, markTopic, reportTimeline, runLoad, summaryLine } from '../src/chaos.js';
import { violations, type Tolerated } from '../src/checker.js';
import { scenarioWorkers, type ScenarioWorkers } from '../src/workers.js';
import { maxOf } from '../src/max-of.js';

const topic = uniqueTopic('lab03-failover');
const PARTITIONS = 3;
const MAX_EVENTS = 4_000;
const CLIENTS = 4;
const override = process.env.LAB03_FAILOVER_IDEMPOTENT;
if (override !== undefined && override !== 'true' && override !== 'false') {
  throw new Error(`LAB03_FAILOVER_IDEMPOTENT must be true or false (or unset: the lab's default producer), not "${override}"`);
}
let idempotent: boolean;
let cluster: KafkaCluster;
let api: InProcessApi;
let consumers: ScenarioWorkers | undefined;

async function partitions(brokers: string[]) {
  const admin = createKafka(brokers, 'crm-lab-test').admin();
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    return metadata.topics[0]!.partitions.sort((a, b) => a.partitionId - b.partitionId);
  } finally {
    await admin.disconnect();
  }
}

beforeAll(async () => {
  cluster = await startKafkaCluster(3, { heapMb: 384 });
  await createReplicatedTopic(cluster.brokers, topic, { partitions: PARTITIONS, replicationFactor: 3, minInsyncReplicas: 2 });
  // Default PUBLISH_TIMEOUT_MS (5 s); the producer sends with acks=all (labs/01-ingest/src/publisher.ts).
  api = await startInProcessApi(cluster.brokers, { KAFKA_TOPIC: topic, RATE_LIMIT_MAX: '100000', LOG_LEVEL: 'error',
    ...(override !== undefined ? { KAFKA_PRODUCER_IDEMPOTENT: override } : {}) });
  idempotent = api.config.KAFKA_PRODUCER_IDEMPOTENT;
});
afterAll(async () => {
  await api?.close();
  await consumers?.close();
  if (cluster) {
    await Promise.all(cluster.nodes.map((node) => node.process.kill()));
    rmSync(cluster.dataDir, { recursive: true, force: true });
  }
});

describe('scenario 5: the partition leader crashes (3 brokers, RF 3, min ISR 2, acks=all)', () => {
  it('elects a new leader, loses no acked event, and the producer copies no event beyond its bound', async () => {
    const mark = await markTopic(cluster.brokers, topic);
    const ledger = new Ledger();
    let stop = false;
    const load = runLoad({
      baseUrl: api.url,
      ledger,
      clients: CLIENTS,
      ratePerClient: 20,
      maxEvents: MAX_EVENTS,
      stop: () => stop,
      localAddress: (c) => `127.0.3.${40 + c}`,
      event: (n, c) => ({ user_id: `failover_user_${n % 30}`, event_type: n % 5 === 0 ? 'login' : 'page_view', properties: { n, client: c } }),
      clientOptions: { maxAttempts: 15, baseDelayMs: 250, maxDelayMs: 2_000 },
    });
    try {
      await waitFor('200 accepted events', () => ledger.count(202) >= 200, { timeoutMs: 60_000 });
      // Reading once with all three brokers up also creates __consumer_offsets (RF 3) for the final read.
      expect((await checkScenario(cluster.brokers, mark, ledger)).evidence.lost).toEqual([]);

      const before = await partitions(cluster.brokers);
      const victimId = before[0]!.leader;
      const victim = cluster.nodes.find((node) => node.nodeId === victimId)!;
      const led = before.filter((p) => p.leader === victimId).map((p) => p.partitionId);
      const electionDone = ledger.fault(`leader kafka-${victimId} SIGKILLed until every partition has a new leader`);
      await victim.process.kill();
      const killedAt = ledger.sent;
      const survivors = cluster.alive().map((node) => node.broker);

      const after = await waitFor('a new leader for every partition', async () => {
        const ps = await partitions(survivors);
        return ps.every((p) => p.leader !== victimId && p.leader >= 0 && !p.isr.includes(victimId)) ? ps : undefined;
      }, { timeoutMs: 60_000, intervalMs: 250 });
      electionDone();
      // The consumer side, on the survivors: it reads the range from its start, the crash included.
      consumers = await scenarioWorkers({ brokers: survivors, topic, label: 'lab03-failover' });
      consumers.start('worker-1');
      await waitFor('200 more accepted events after the crash', () => ledger.count(202, killedAt) >= 200, { timeoutMs: 60_000 });
      stop = true;
      await load;
      await consumers.drain();

      const verdict = await checkScenario(survivors, mark, ledger, consumers.store);
      // A 503 after a publish timeout may have been written: the client's retry is then a second
      // copy, within its HTTP attempts. Copies beyond the attempts are the producer's: its own retry
      // of a write whose ack died with the leader. The idempotent producer must make none; without
      // idempotence, at most one per request in flight at the crash (one per client), each a single
      // extra copy: only the dead leader wrote without answering.
      const hit503 = ledger.deliveries.filter((d) => d.attempts.some((a) => a.status === 503)).length;
      const tolerated: Tolerated = { 'duplicated-by-retry': hit503, 'duplicated-server-side': idempotent ? 0 : CLIENTS, extraCopies: idempotent ? 0 : 1 };
      const duringFailover = ledger.attempts.slice(killedAt).filter((a) => a.status === 503);
      const acceptedAfter = ledger.attempts.slice(killedAt).filter((a) => a.status === 202);
      console.log(summaryLine('broker-failover', ledger, verdict, tolerated, {
        producer: `${idempotent ? 'idempotent' : 'non-idempotent'}${override === undefined ? '(lab-default)' : '(LAB03_FAILOVER_IDEMPOTENT)'},linger=${api.config.PRODUCER_LINGER_MS}ms`,
        resent_unanswered: api.publisher.stats.resentUnanswered,
        producer_duplicates: verdict.evidence['duplicated-server-side'].length,
        killed: `kafka-${victimId}`,
        it_led: led.join(','),
        '503_after_crash': duringFailover.length,
        slowest_503_ms: maxOf(duringFailover.map((a) => a.elapsedMs), 0).toFixed(0),
        slowest_202_after_crash_ms: maxOf(acceptedAfter.map((a) => a.elapsedMs), 0).toFixed(0),
        leaders_after: after.map((p) => `p${p.partitionId}:${p.leader}[isr ${p.isr.join(',')}]`).join(' '),
      }));
      reportTimeline('broker-failover', ledger);

      expect(ledger.deliveries.length).toBeLessThanOrEqual(MAX_EVENTS);
      // Every partition now lives on the two survivors, both in sync: acks=all can still be met.
      for (const p of after) expect(p.isr.length).toBe(2);
      // Acked means on at least 2 replicas: the crash of one loses nothing; nothing stray, nothing
      // reordered, duplicates within the bounds above; the worker applied every stored event once.
      expect(violations(verdict, tolerated)).toEqual([]);
      expect(verdict.counts.applied).toBe(verdict.counts.distinct);
      // Each client sends one event at a time: its events for a user were compared in pairs.
      expect(verdict.counts.orderChecks).toBeGreaterThan(0);
      // Only 503s (with Retry-After), no other error, and the retries got every event in.
      expect(Object.keys(ledger.tally()).filter((k) => !['202', '503'].includes(k))).toEqual([]);
      expect(ledger.deliveries.filter((d) => !d.delivered).map((d) => d.gaveUp)).toEqual([]);
    } finally {
      stop = true;
      await load;
    }
  });
});
