/**
 * Scenario 4: a 10x traffic spike at capacity. "Normal" is many client IPs, each well within
 * nginx's per-IP limit; the spike is ten times the traffic for 10 s: many more such clients, plus
 * two client IPs that send faster than their own limit. nginx rejects only those IPs' excess (429);
 * everything else is accepted, Kafka absorbs what the workers (slower than the spike) cannot take at
 * once, the lag rises and drains back to 0, and the checker finds every 202 stored and applied once.
 *
 * Limits, scaled so that ten times "normal" fits on the 2-core lab machine: nginx 5 r/s, burst 10
 * per IP (the lab's default is 20 r/s, burst 50). The replicas' app limit is raised
 * (RATE_LIMIT_MAX=100000/min): it counts per replica, and each replica sees a third of an IP's
 * requests, so it would blur which limit answered; nginx's per-IP limit is the one under test.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { createTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { ProfileStore } from '../../02-consumer-groups/src/profile-store.js';
import { checkScenario, Ledger, markTopic, reportTimeline, runLoad, summaryLine, type LoggedAttempt } from '../src/chaos.js';
import { violations } from '../src/checker.js';
import { peakAndDrain, sampleLag } from '../src/lag-sampler.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('lab03-spike');
const groupId = uniqueTopic('crm-event-processors');
const dir = mkdtempSync(join(tmpdir(), 'lab03-spike-'));
const profileDb = join(dir, 'profiles.db');

const NGINX_RATE = 5; // per client IP, r/s
const NGINX_BURST = 10;
/** A well-behaved client: one event at a time, 2 a second — under its IP's limit. */
const LIGHT_RATE = 2;
const NORMAL_CLIENTS = 6; // normal: 6 x 2 = 12 r/s
const SPIKE_CLIENTS = 34; // the spike adds 34 x 2 = 68 r/s of well-behaved clients…
/**
 * …and two IPs over their limit, 20 senders each at 1 r/s: 2 x 20 = 40 r/s; 120 r/s in all, 10x.
 * Each such IP starts with 20 requests at once, twice its burst: it gets 429s even when a busy
 * machine slows every answer down (a 429 is cheap: nginx sends it without asking a replica).
 */
const HEAVY_IPS = 2;
const HEAVY_SENDERS = 20;
const HEAVY_RATE = 1;
const NORMAL_S = 5;
const SPIKE_S = 10;
/** ~33 events/s per worker: two are slower than the spike, much faster than normal. */
const PROCESS_DELAY_MS = 30;

let replicas: ApiReplica[] = [];
let workers: WorkerProcess[] = [];
let nginx: NginxServer;
let admin: Admin;
let store: ProfileStore;

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  replicas = await Promise.all(['api-1', 'api-2', 'api-3'].map((id) =>
    startApiReplica({ id, brokers, logDir: dir, env: { KAFKA_TOPIC: topic, RATE_LIMIT_MAX: '100000' } })));
  nginx = await startNginx({ upstreams: replicas.map((r) => `127.0.0.1:${r.port}`), rate: NGINX_RATE, burst: NGINX_BURST });
  admin = createKafka(brokers, 'lab03-spike-test').admin();
  await admin.connect();
  workers = ['worker-1', 'worker-2'].map((id) => startWorker({
    id, kind: 'with-dlq', brokers, profileDb, logDir: dir,
    env: { KAFKA_TOPIC: topic, KAFKA_RETRY_TOPIC: `${topic}-retry`, KAFKA_DLQ_TOPIC: `${topic}-dlq`, CONSUMER_GROUP: groupId,
      PROCESS_DELAY_MS: String(PROCESS_DELAY_MS) },
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

/** Most requests one IP started within any 1 s window. */
function peakPerSecond(attempts: LoggedAttempt[]): number {
  const times = attempts.map((a) => a.at).sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

describe('scenario 4: a 10x traffic spike at capacity', () => {
  it('nginx rejects only the IPs over their limit, every 202 is stored and applied once, and the lag rises then drains to 0', async () => {
    const mark = await markTopic(brokers, topic);
    const ledger = new Ledger();
    const lag = sampleLag(admin, groupId, topic, { now: () => ledger.now(), applied: () => store.processedCount() });
    // No retries: each attempt's answer is what nginx decided for it. Each client writes its own user.
    const clientOptions = { maxAttempts: 1 };
    const event = (group: string) => (n: number, c: number) => ({ user_id: `spike_${group}_${c}`, event_type: n % 4 === 0 ? 'login' : 'page_view', properties: { n } });
    let stopNormal = false;
    let stopSpike = false;
    const normal = runLoad({ baseUrl: nginx.url, ledger, clients: NORMAL_CLIENTS, ratePerClient: LIGHT_RATE, maxEvents: 2_000,
      stop: () => stopNormal, localAddress: (c) => `127.0.5.${c + 1}`, event: event('normal'), clientOptions });
    const spikeWindow = { from: 0, to: 0 };
    try {
      await sleep(NORMAL_S * 1000);
      spikeWindow.from = ledger.now();
      const spikeEnds = ledger.fault('10x spike');
      const spike = Promise.all([
        runLoad({ baseUrl: nginx.url, ledger, clients: SPIKE_CLIENTS, ratePerClient: LIGHT_RATE, maxEvents: 2_000,
          stop: () => stopSpike, localAddress: (c) => `127.0.5.${NORMAL_CLIENTS + c + 1}`, event: event('light'), clientOptions }),
        runLoad({ baseUrl: nginx.url, ledger, clients: HEAVY_IPS * HEAVY_SENDERS, ratePerClient: HEAVY_RATE, maxEvents: 2_000,
          stop: () => stopSpike, localAddress: (c) => `127.0.6.${Math.floor(c / HEAVY_SENDERS) + 1}`,
          clientName: (c) => `127.0.6.${Math.floor(c / HEAVY_SENDERS) + 1}#${c % HEAVY_SENDERS}`, event: event('heavy'), clientOptions }),
      ]);
      await sleep(SPIKE_S * 1000);
      stopSpike = true;
      await spike;
      spikeEnds();
      spikeWindow.to = ledger.now();
      // Normal traffic goes on while the workers drain the backlog.
      await waitFor('lag back to 0 after the spike', async () => totalLag(await consumerLag(admin, groupId, topic)) === 0,
        { timeoutMs: 120_000, intervalMs: 200 });
      stopNormal = true;
      await normal;
      await waitFor('lag 0 after the last event', async () => totalLag(await consumerLag(admin, groupId, topic)) === 0,
        { timeoutMs: 30_000, intervalMs: 200 });
    } finally {
      stopSpike = stopNormal = true;
      await normal;
    }
    const samples = await lag.stop();
    const verdict = await checkScenario(brokers, mark, ledger, store);

    // Who got 429s, and how fast each IP really sent (the most requests it started in any second).
    const byIp = new Map<string, LoggedAttempt[]>();
    for (const a of ledger.attempts) byIp.set(a.address!, [...(byIp.get(a.address!) ?? []), a]);
    const ips = [...byIp.keys()];
    const heavy = ips.filter((ip) => ip.startsWith('127.0.6.'));
    const rejectedIps = ips.filter((ip) => byIp.get(ip)!.some((a) => a.status === 429));
    const peakOf = (ip: string) => peakPerSecond(byIp.get(ip)!);
    const inSpike = ledger.attempts.filter((a) => a.at >= spikeWindow.from && a.at < spikeWindow.to);
    const normalAttempts = ledger.attempts.filter((a) => a.at < spikeWindow.from);
    // The lag from the spike on: how high it rose, and when it was back to 0.
    const { peak, peakAt, drainedAt } = peakAndDrain(samples.filter((x) => x.at >= spikeWindow.from));
    const lagBefore = Math.max(0, ...samples.filter((x) => x.at < spikeWindow.from).map((x) => x.lag));
    const appliedAt = (t: number) => samples.filter((s) => s.at <= t).at(-1)?.applied ?? 0;
    const rate = (n: number, ms: number) => (ms > 0 ? (n / (ms / 1000)).toFixed(0) : '-');
    console.log(summaryLine('traffic-spike', ledger, verdict, {}, {
      limits: `nginx_${NGINX_RATE}r/s_burst_${NGINX_BURST}_per_ip,app_RATE_LIMIT_MAX=100000/min`,
      normal_rps: rate(normalAttempts.length, spikeWindow.from),
      spike_rps: rate(inSpike.length, spikeWindow.to - spikeWindow.from),
      spike_202: inSpike.filter((a) => a.status === 202).length,
      spike_429: inSpike.filter((a) => a.status === 429).length,
      ips: ips.length,
      ips_with_429: rejectedIps.join(',') || 'none',
      peak_rps_heavy: heavy.map(peakOf).join(','),
      peak_rps_light_max: Math.max(0, ...ips.filter((ip) => !heavy.includes(ip)).map(peakOf)),
      workers_applied_rps_in_spike: rate(appliedAt(spikeWindow.to) - appliedAt(spikeWindow.from), spikeWindow.to - spikeWindow.from),
      max_lag_before_spike: lagBefore,
      peak_lag: peak,
      peak_lag_at_s: (peakAt / 1000).toFixed(1),
      spike_s: `${(spikeWindow.from / 1000).toFixed(1)}-${(spikeWindow.to / 1000).toFixed(1)}`,
      drain_s_after_spike: drainedAt === undefined ? 'never' : ((drainedAt - spikeWindow.to) / 1000).toFixed(1),
    }));
    reportTimeline('traffic-spike', ledger, samples);

    // No 5xx, no socket error: only 202 and 429.
    expect(Object.keys(ledger.tally()).filter((k) => k !== '202' && k !== '429')).toEqual([]);
    // The spike bit: both over-limit IPs were rejected…
    expect(rejectedIps.sort()).toEqual([...heavy].sort());
    // …and only IPs that really sent faster than their limit got 429s; every well-behaved client was served.
    for (const ip of rejectedIps) expect(peakOf(ip), ip).toBeGreaterThan(NGINX_RATE);
    expect(heavy).toHaveLength(HEAVY_IPS);
    // Every 202 stored once, nothing stray or reordered, every stored event applied exactly once.
    expect(violations(verdict)).toEqual([]);
    expect(verdict.counts.applied).toBe(verdict.counts.distinct);
    expect(verdict.counts.acked).toBe(ledger.count(202));
    // Kafka buffered what the workers could not take at once, and they drained it.
    expect(peak).toBeGreaterThan(0);
    expect(drainedAt).toBeDefined();
    expect((await httpRequest({ url: `${nginx.url}/health` })).status).toBe(200);
  }, 240_000); // ~35 s on a quiet 2-core machine; the drain takes longer when other work shares the cores
});
