/**
 * Scenario 4: a 10x traffic spike. autocannon sends the normal rate (the nginx per-IP limit,
 * 20 r/s), then ten times that, from one client IP through nginx in front of 3 API replicas.
 * nginx answers the excess with 429; every accepted event lands in Kafka; the workers, slower
 * than the burst, fall behind (lag rises) and then drain it to 0.
 * The replicas' app limit is raised (RATE_LIMIT_MAX=100000) so that nginx's limit is the one measured.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApiReplica, type ApiReplica } from '../../../infra/api.js';
import { startNginx, type NginxServer } from '../../../infra/nginx.js';
import { sleep, waitFor } from '../../../infra/processes.js';
import { startWorker, type WorkerProcess } from '../../../infra/worker.js';
import { createKafka } from '../../../shared/kafka.js';
import { consumerLag, totalLag } from '../../../shared/lag.js';
import { httpRequest } from '../../../shared/testing/http.js';
import { waitForStableGroup } from '../../../shared/testing/groups.js';
import { createTopic, readTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { ProfileStore } from '../../02-consumer-groups/src/profile-store.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('lab03-spike');
const groupId = uniqueTopic('crm-event-processors');
const dir = mkdtempSync(join(tmpdir(), 'lab03-spike-'));
const profileDb = join(dir, 'profiles.db');
const NORMAL_RATE = 20;
const SPIKE_RATE = 10 * NORMAL_RATE;
let replicas: ApiReplica[] = [];
let workers: WorkerProcess[] = [];
let nginx: NginxServer;
let admin: Admin;
let store: ProfileStore;

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  replicas = await Promise.all(['api-1', 'api-2', 'api-3'].map((id) =>
    startApiReplica({ id, brokers, logDir: dir, env: { KAFKA_TOPIC: topic, RATE_LIMIT_MAX: '100000' } })));
  nginx = await startNginx({ upstreams: replicas.map((r) => `127.0.0.1:${r.port}`), rate: NORMAL_RATE, burst: 50 });
  admin = createKafka(brokers, 'lab03-spike-test').admin();
  await admin.connect();
  // ~25 events/s each: together slower than the burst nginx lets through at once.
  workers = ['worker-1', 'worker-2'].map((id) => startWorker({
    id, kind: 'with-dlq', brokers, profileDb, logDir: dir,
    env: { KAFKA_TOPIC: topic, KAFKA_RETRY_TOPIC: `${topic}-retry`, KAFKA_DLQ_TOPIC: `${topic}-dlq`, CONSUMER_GROUP: groupId, PROCESS_DELAY_MS: '40' },
  }));
  await waitForStableGroup(admin, groupId, topic, 2);
  store = new ProfileStore(profileDb);
});
afterAll(async () => {
  await nginx?.process.stop();
  await Promise.all([...replicas, ...workers].map((p) => p.process.stop()));
  await admin?.disconnect();
  store?.close();
});

/** Paced POST /track load; returns autocannon's result and the event_ids that got a 202. */
async function fire(rate: number, seconds: number, label: string) {
  const accepted: string[] = [];
  let n = 0;
  const result = await autocannon({
    url: nginx.url,
    connections: 20,
    overallRate: rate,
    amount: rate * seconds,
    requests: [{
      method: 'POST',
      path: '/track',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => ({ ...req, body: JSON.stringify({ user_id: `${label}_user_${n % 50}`, event_type: 'page_view', properties: { n: n++ } }) }),
      onResponse: (status, body) => {
        if (status === 202) accepted.push(JSON.parse(body).event_id);
      },
    }],
  });
  return { result, accepted };
}

describe('scenario 4: a 10x traffic spike', () => {
  it('sheds the excess with 429s at nginx, stores every accepted event, and the workers\' lag rises then drains to 0', async () => {
    const normal = await fire(NORMAL_RATE, 5, 'normal');

    // Lag sampled every 100 ms: its peak, and how long after the peak it was 0 again.
    let maxLag = 0;
    let peakAt = 0;
    let drainedAt = 0;
    let polling = true;
    const lagPoller = (async () => {
      while (polling) {
        const lag = totalLag(await consumerLag(admin, groupId, topic));
        if (lag > maxLag) [maxLag, peakAt, drainedAt] = [lag, performance.now(), 0];
        if (lag === 0 && maxLag > 0 && !drainedAt) drainedAt = performance.now();
        await sleep(100);
      }
    })();
    const spike = await fire(SPIKE_RATE, 10, 'spike');
    await waitFor('lag back to 0', async () => totalLag(await consumerLag(admin, groupId, topic)) === 0, { timeoutMs: 120_000, intervalMs: 200 });
    polling = false;
    await lagPoller;
    const drainS = ((drainedAt || performance.now()) - peakAt) / 1000;

    const r = spike.result;
    const count429 = r.statusCodeStats?.['429']?.count ?? 0;
    const count202 = r.statusCodeStats?.['202']?.count ?? 0;
    const stored = new Set((await readTopic(brokers, topic)).map((rec) => rec.value.event_id));
    const acked = [...normal.accepted, ...spike.accepted];
    const lost = acked.filter((id) => !stored.has(id)).length;
    console.log(`[traffic spike] limits: nginx ${nginx.rate} r/s burst ${nginx.burst} per IP, app RATE_LIMIT_MAX=100000/min | `
      + `normal ${NORMAL_RATE} r/s x5s: 202=${normal.accepted.length} of ${normal.result.requests.total} | `
      + `spike ${SPIKE_RATE} r/s x10s: sent=${r.requests.total} 202=${count202} 429=${count429} errors=${r.errors} non2xx_other=${r.non2xx - count429} `
      + `p50=${r.latency.p50}ms p99=${r.latency.p99}ms | stored=${stored.size} consumed=${store.processedCount()} lost=${lost} `
      + `max_lag=${maxLag} drained_to_0_in=${drainS.toFixed(1)}s_after_peak`);

    expect(count429).toBeGreaterThan(0);
    expect(count202).toBeGreaterThanOrEqual(nginx.burst);
    expect(count202 + count429).toBe(r.requests.total); // nothing but 202 and 429: no 5xx, no errors
    expect(spike.accepted).toHaveLength(count202);
    expect(lost).toBe(0);
    expect(maxLag).toBeGreaterThan(0); // Kafka buffered what the workers could not take at once
    expect(store.processedCount()).toBe(stored.size);
    expect((await httpRequest({ url: `${nginx.url}/health` })).status).toBe(200);
  });
});
