/**
 * Scenario 1: an API replica crashes (SIGKILL) under steady load behind nginx, and comes back.
 * Limits are raised so that only the crash can produce errors: nginx 10000 r/s per IP with a
 * burst of 10000, and RATE_LIMIT_MAX=1000000 on the replicas. A worker (lab 04's) consumes the
 * topic throughout, so the checker also judges what was applied.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { restartApiReplica, startApiReplica, type ApiReplica } from '../../../infra/api.js';
import { startNginx, type NginxServer } from '../../../infra/nginx.js';
import { waitFor } from '../../../infra/processes.js';
import { createTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { checkScenario, Ledger, markTopic, reportTimeline, runLoad, summaryLine } from '../src/chaos.js';
import { violations, type Tolerated } from '../src/checker.js';
import { scenarioWorkers, type ScenarioWorkers } from '../src/workers.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('lab03-api-crash');
const CLIENTS = 6;
const RATE_PER_CLIENT = 25; // 150 events/s in total
const MAX_EVENTS = 6_000; // the load is bounded even if the replica never came back
const NGINX_WORKERS = 2;
/**
 * What this scenario tolerates (everything else must be 0). Each client has at most one request
 * in flight, so at most CLIENTS requests were on the replica when it died; nginx re-sends each to
 * another replica, and if the dead one had published it, that is a second copy from one HTTP
 * attempt: nginx re-sends a request at most once per replica death, and only the dead replica can
 * have published without answering, so no event has more than its attempts + 1 copies
 * (`extraCopies: 1`). A client retries a network error (never a 502): that retry may duplicate too.
 */
const tolerated: Tolerated = { 'duplicated-server-side': CLIENTS, 'duplicated-by-retry': CLIENTS * NGINX_WORKERS, extraCopies: 1 };
let replicas: ApiReplica[] = [];
let nginx: NginxServer;
let consumers: ScenarioWorkers;

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  replicas = await Promise.all(['api-1', 'api-2', 'api-3'].map((id) =>
    startApiReplica({ id, brokers, env: { KAFKA_TOPIC: topic, RATE_LIMIT_MAX: '1000000' } })));
  nginx = await startNginx({ upstreams: replicas.map((r) => `127.0.0.1:${r.port}`), rate: 10_000, burst: 10_000, workers: NGINX_WORKERS });
  consumers = await scenarioWorkers({ brokers, topic, label: 'lab03-api-crash' });
  consumers.start('worker-1');
});
afterAll(async () => {
  await nginx?.process.stop();
  await Promise.all(replicas.map((r) => r.process.stop()));
  await consumers?.close();
});

describe('scenario 1: an API replica crashes under load', () => {
  it('routes around the dead replica, loses no acked event, and takes the replica back after its restart', async () => {
    const mark = await markTopic(brokers, topic);
    const ledger = new Ledger();
    const victim = replicas[1]!;
    let stop = false;
    const load = runLoad({
      baseUrl: nginx.url,
      ledger,
      clients: CLIENTS,
      ratePerClient: RATE_PER_CLIENT,
      maxEvents: MAX_EVENTS,
      stop: () => stop,
      localAddress: (c) => `127.0.3.${c + 1}`,
      event: (n, c) => ({ user_id: `crash_user_${n % 50}`, event_type: n % 7 === 0 ? 'login' : 'page_view', properties: { n, client: c } }),
    });
    const accepted = (from = 0) => ledger.count(202, from);
    const servedBy = (instance: string, from: number) =>
      ledger.attempts.slice(from).filter((a) => a.status === 202 && a.instance === instance).length;

    try {
      // Steady state: every replica serves.
      await waitFor('300 accepted events', () => accepted() >= 300, { timeoutMs: 30_000 });
      expect(servedBy(victim.id, 0)).toBeGreaterThan(0);

      // Crash one replica mid-load.
      const replicaBack = ledger.fault(`${victim.id} SIGKILLed until restarted`);
      await victim.process.kill();
      const killedAt = ledger.sent;
      await waitFor('300 more accepted events with the replica dead', () => accepted(killedAt) >= 300, { timeoutMs: 30_000 });
      const duringOutage = ledger.tally(killedAt);

      // Restart it; nginx sends it requests again as soon as it accepts connections (max_fails=0).
      replicas[1] = await restartApiReplica(victim);
      replicaBack();
      const restartedAt = ledger.sent;
      await waitFor(`${victim.id} to serve again through nginx`, () => servedBy(victim.id, restartedAt) >= 20, { timeoutMs: 45_000 });
      const rejoinedAfter = ledger.sent - restartedAt;
      stop = true;
      await load;
      await consumers.drain();

      const verdict = await checkScenario(brokers, mark, ledger, consumers.store);
      const errors = ledger.sent - ledger.count(202);
      console.log(summaryLine('api-crash', ledger, verdict, tolerated, {
        client_errors: errors,
        per_replica_202: ['api-1', 'api-2', 'api-3'].map((id) => `${id}:${servedBy(id, 0)}`).join(','),
        requests_until_rejoin: rejoinedAfter,
      }));
      console.log(`[api-crash] while ${victim.id} was dead: ${JSON.stringify(duringOutage)}`);
      reportTimeline('api-crash', ledger);

      expect(ledger.sent).toBeLessThanOrEqual(MAX_EVENTS);
      // nginx re-sends a request that failed on the crashed replica to another one
      // (proxy_next_upstream … non_idempotent); a client sees an error only if that fails too:
      // at most one per client connection per nginx worker (each keeps its own view of the upstreams).
      expect(errors).toBeLessThanOrEqual(CLIENTS * NGINX_WORKERS);
      // No 429 or 503: limits are out of the way and Kafka is healthy.
      expect(ledger.count(429) + ledger.count(503)).toBe(0);
      // The restarted replica is back in the rotation.
      expect(servedBy(victim.id, restartedAt)).toBeGreaterThanOrEqual(20);
      // Every 202 is in Kafka, nothing else is, each user's events in the order sent; a second copy is
      // possible (see `tolerated`) and carries the same event_id. The worker applied every stored
      // event exactly once: profiles exact, a duplicate counted once.
      expect(violations(verdict, tolerated)).toEqual([]);
      expect(verdict.counts.applied).toBe(verdict.counts.distinct);
      // Each client sends one event at a time: its events for a user were compared in pairs.
      expect(verdict.counts.orderChecks).toBeGreaterThan(0);
    } finally {
      stop = true;
      await load;
    }
  });
});
