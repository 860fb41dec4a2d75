/**
 * Every query of the generated Grafana board (grafana/crm-event-lab.json), evaluated by a real
 * Prometheus against a live run, the way Grafana would send it (`$__rate_interval` → 1m: four
 * scrapes of the 15 s interval the provisioned datasource declares). Each query must return
 * series and move when its condition is provoked:
 *
 * - traffic through nginx → throughput, the latency quantiles, events per produce request;
 * - a burst from one address beyond nginx's limit → the 429 ratio;
 * - a 3 s latency toxic between the API and Kafka (PUBLISH_TIMEOUT_MS 1 s) → 503s and produce failures;
 * - a lab 07 replica whose Redis does not answer (nothing listens on its port) → limit store errors;
 * - the worker stopped, then 1,200 events of one user (one partition), 150 records in the retry
 *   topic and 3 in the DLQ → lag per partition, skew, retry depth, DLQ depth.
 *
 * Lab 08's replication lag is served by the real `npm run region -- metrics` with both regions
 * pointed at this one broker and no MirrorMaker running: region B has no `A.<topic>`, so the lag
 * is every record A's topic holds, and it rises with the traffic. MirrorMaker itself is not run
 * here (lab 08's failover test does); what a sync does to the number is not checked by this test.
 *
 * The rules of docs/alerts.yml and lab 08's alerts.yml are loaded too, `for:` shortened to 10 s
 * (as in alerts.test.ts): the four rules these conditions cross (the limit store, the retry topic,
 * the skew, the replication lag) must fire. The home-made dashboard (`npm run dashboard`, given a
 * region target) serves the Kafka gauges read from the broker, so the lag is still scraped once
 * the worker is stopped, and must show the same replication lag.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { Toxiproxy } from 'toxiproxy-node-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startNginx, type NginxServer } from '../../../infra/nginx.js';
import { repoRoot } from '../../../infra/paths.js';
import { freePort, launch, waitFor, waitForPort, type ManagedProcess } from '../../../infra/processes.js';
import { startWorker, type WorkerProcess } from '../../../infra/worker.js';
import { buildApp } from '../../../labs/01-ingest/src/app.js';
import { EventPublisher, publisherOptionsFrom } from '../../../labs/01-ingest/src/publisher.js';
import { createLimitStoreClient } from '../../../labs/07-security/src/redis-client.js';
import { loadConfig } from '../../../shared/config.js';
import { createKafka } from '../../../shared/kafka.js';
import { createApiMetrics, type MetricsServer } from '../../../shared/metrics.js';
import { countByStatus, track } from '../../../shared/testing/http.js';
import { createTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { removeToxics } from '../../../shared/testing/toxics.js';
import { startDashboard, type Dashboard } from '../../../shared/observability/dashboard.js';
import { boardQueries, toPromQL, type BoardQuery } from '../../../shared/observability/grafana/board-queries.js';
import { boardFile } from '../../../shared/observability/grafana/generate.js';
import { startNginxExporter } from '../../../shared/observability/nginx-exporter.js';
import { alertRulesFile, startPrometheus, type PrometheusServer } from '../../../shared/observability/prometheus.js';

const { brokers, proxiedBrokers, toxiproxyUrl, kafkaProxyName } = inject('kafka');
const topic = uniqueTopic('obs-grafana');
const groupId = uniqueTopic('obs-grafana-group');
const retryTopic = uniqueTopic('obs-grafana-retry');
const dlqTopic = uniqueTopic('obs-grafana-dlq');
const dir = mkdtempSync(join(tmpdir(), 'obs-grafana-'));
const toxiproxy = new Toxiproxy(toxiproxyUrl);
const board = JSON.parse(readFileSync(boardFile, 'utf8'));
const queries = boardQueries(board);
const keyOf = (q: BoardQuery) => `${q.panel} › ${q.refId}`;

/** The phase that provokes each query's condition, and what its value must do then. */
type Phase = 'traffic' | 'burst' | 'kafka-slow' | 'store-down' | 'worker-stopped';
const moves = {
  up: (before: number | undefined, after: number) => after > (before ?? 0),
  atLeast: (n: number) => (_before: number | undefined, after: number) => after >= n,
};
const expected: Record<string, { phase: Phase; moved: (before: number | undefined, after: number) => boolean; claim: string }> = {
  'POST /track by status › A': { phase: 'traffic', moved: moves.up, claim: 'rises above 0' },
  'POST /track latency › A': { phase: 'traffic', moved: moves.up, claim: 'a p50 above 0' },
  'POST /track latency › B': { phase: 'traffic', moved: moves.up, claim: 'a p95 above 0' },
  'POST /track latency › C': { phase: 'traffic', moved: moves.up, claim: 'a p99 above 0' },
  'Events per produce request › A': { phase: 'traffic', moved: moves.atLeast(1), claim: 'a mean of at least 1' },
  'Events per produce request › B': { phase: 'traffic', moved: moves.atLeast(1), claim: 'a p99 of at least 1' },
  'Replication lag A → B › A': { phase: 'traffic', moved: moves.atLeast(40), claim: 'at least the 40 events sent (B holds none)' },
  'Rate-limited ratio (429s) › A': { phase: 'burst', moved: moves.up, claim: 'rises above 0' },
  '503s › A': { phase: 'kafka-slow', moved: moves.up, claim: 'rises above 0' },
  '503s › B': { phase: 'kafka-slow', moved: moves.up, claim: 'rises above 0' },
  'Per-customer limit store errors (lab 07) › A': { phase: 'store-down', moved: moves.up, claim: 'rises above 0' },
  'Consumer lag per partition › A': { phase: 'worker-stopped', moved: moves.atLeast(1_200), claim: 'one partition at least 1,200 behind' },
  'Consumer lag per partition › B': { phase: 'worker-stopped', moved: moves.atLeast(1_200), claim: 'the group at least 1,200 behind' },
  'Lag skew across partitions › A': { phase: 'worker-stopped', moved: (_b, after) => after > 1.5, claim: 'above 1.5 (all lag in one of 2 partitions: 2)' },
  'Retry topic depth › A': { phase: 'worker-stopped', moved: moves.atLeast(150), claim: 'at least the 150 records waiting' },
  'DLQ depth › A': { phase: 'worker-stopped', moved: moves.atLeast(3), claim: 'at least the 3 dead letters' },
};

let api: { app: FastifyInstance; url: string; publisher: EventPublisher };
let storeApi: { app: FastifyInstance; url: string; publisher: EventPublisher; redis: Redis };
let nginx: NginxServer;
let exporter: MetricsServer;
let worker: WorkerProcess;
let region: ManagedProcess;
let dashboard: Dashboard;
let prometheus: PrometheusServer;
let admin: Admin;
let producer: Producer;

/** The live copy of a rule file: only `for:` shortened (alerts.test.ts checks that nothing else differs). */
function liveRules(file: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, readFileSync(file, 'utf8').replace(/^(\s+for:\s*)\S+$/gm, '$110s'));
  return path;
}

/** A replica in this process, wired as server.ts wires it (its publisher's batch sizes observed). */
async function startReplica(brokerList: string[], env: Record<string, string>, lab07?: { redis: Redis }) {
  const config = loadConfig({ LOG_LEVEL: 'error', KAFKA_TOPIC: topic, RATE_LIMIT_MAX: '100000', ...env, KAFKA_BROKERS: brokerList.join(',') });
  const metrics = createApiMetrics();
  const publisher = new EventPublisher(createKafka(config.kafkaBrokers, 'crm-lab-test-grafana'), {
    ...publisherOptionsFrom(config), onBatchSent: (events) => metrics.producerBatchEvents.observe(events) });
  await publisher.start();
  const app = await buildApp(config, publisher, undefined, {
    metrics,
    ...(lab07 && {
      authenticate: (key: string) => (key.startsWith('key-of-') ? key.slice('key-of-'.length) : undefined),
      customerRateLimit: { redis: lab07.redis, max: 100_000, timeWindowMs: 60_000, skipOnError: true },
    }),
  });
  return { app, publisher, url: await app.listen({ host: '127.0.0.1', port: 0 }) };
}

beforeAll(async () => {
  await removeToxics(toxiproxyUrl, kafkaProxyName);
  await createTopic(brokers, topic, 2);
  admin = createKafka(brokers, 'obs-grafana-test').admin();
  await admin.connect();
  // What MirrorMaker creates when it starts (its offset syncs in A, the mirrored topic in B), both
  // empty here: no MirrorMaker runs, so B holds none of A's records.
  await admin.createTopics({ topics: [{ topic: 'mm2-offset-syncs.B.internal', numPartitions: 1 }, { topic: `A.${topic}`, numPartitions: 2 }] });
  producer = createKafka(brokers, 'obs-grafana-test').producer();
  await producer.connect();

  // The API reaches Kafka through Toxiproxy (the 503 phase slows it); its answers wait at most 1 s.
  api = await startReplica(proxiedBrokers, { PUBLISH_TIMEOUT_MS: '1000' });
  // Lab 07's replica: its limit store is a port nothing listens on (Redis down).
  const redis = createLimitStoreClient(`redis://127.0.0.1:${await freePort()}`, 100, { warn: () => undefined });
  storeApi = { ...(await startReplica(brokers, {}, { redis })), redis };
  nginx = await startNginx({ upstreams: [new URL(api.url).host], rate: 20, burst: 50, workers: 1 });
  exporter = await startNginxExporter({ errorLog: join(dirname(nginx.confFile), 'error.log') });
  const workerPort = await freePort();
  worker = startWorker({ id: 'obs-grafana-worker', kind: 'with-dlq', brokers, profileDb: join(dir, 'profiles.db'), logDir: dir,
    env: { KAFKA_TOPIC: topic, CONSUMER_GROUP: groupId, KAFKA_RETRY_TOPIC: retryTopic, KAFKA_DLQ_TOPIC: dlqTopic, METRICS_PORT: String(workerPort) } });
  const regionPort = await freePort();
  region = launch('region-metrics', process.execPath, ['--import', 'tsx', join(repoRoot, 'labs/08-multi-region/src/region-cli.ts'), 'metrics', String(regionPort)], {
    cwd: repoRoot, logFile: join(dir, 'region-metrics.log'),
    env: { REGION_A_BROKERS: brokers.join(','), REGION_B_BROKERS: brokers.join(','), KAFKA_TOPIC: topic, KAFKAJS_LOG_LEVEL: 'nothing' },
  });
  await waitForPort(region, regionPort);
  await waitForPort(worker.process, workerPort, 60_000);
  dashboard = await startDashboard({
    apis: [api.url, storeApi.url], workers: [`http://127.0.0.1:${workerPort}`], regions: [`http://127.0.0.1:${regionPort}`],
    kafka: { admin, groupId, topic, dlqTopic, retryTopic }, intervalMs: 500,
  });
  prometheus = await startPrometheus({
    rules: [liveRules(alertRulesFile, 'alerts.live.yml'), liveRules(join(repoRoot, 'labs/08-multi-region/alerts.yml'), 'region-alerts.live.yml')],
    jobs: {
      api: [new URL(api.url).host, new URL(storeApi.url).host],
      nginx: [new URL(exporter.url).host],
      worker: [`127.0.0.1:${workerPort}`],
      dashboard: [new URL(dashboard.url).host],
      region: [`127.0.0.1:${regionPort}`],
    },
    // Every 2 s: lab 08's gauge reads both regions' offsets (three Kafka clients) on each scrape.
    intervalS: 2,
    dir,
  });
});
afterAll(async () => {
  await removeToxics(toxiproxyUrl, kafkaProxyName).catch(() => undefined);
  await prometheus?.stop();
  await dashboard?.close();
  await region?.stop();
  await worker?.process.kill();
  await nginx?.process.stop();
  await exporter?.close();
  for (const replica of [api, storeApi]) {
    await replica?.app.close();
    await replica?.publisher.stop();
  }
  storeApi?.redis.disconnect();
  await producer?.disconnect();
  await admin?.disconnect();
});

/** A board query as Prometheus answers it: the largest finite value over its series; undefined without series. */
async function evaluate(q: BoardQuery): Promise<{ series: number; value: number | undefined }> {
  const result = await prometheus.query(toPromQL(q.expr, { rateInterval: '1m', interval: '15s', range: '30m' }));
  const finite = result.map((r) => r.value).filter(Number.isFinite);
  return { series: result.length, value: finite.length ? Math.max(...finite) : undefined };
}

const observed = new Map<string, { before: number | undefined; after: number; series: number }>();

/** Records the phase's queries, provokes the condition, then waits until each has moved as expected. */
async function phase(name: Phase, provoke: () => Promise<void>): Promise<void> {
  const mine = queries.filter((q) => expected[keyOf(q)]!.phase === name);
  const before = new Map(await Promise.all(mine.map(async (q) => [keyOf(q), (await evaluate(q)).value] as const)));
  await provoke();
  for (const q of mine) {
    const { moved, claim } = expected[keyOf(q)]!;
    let last: unknown;
    const seen = await waitFor(`${keyOf(q)}: ${claim} (${q.expr})`, async () => {
      const now = await evaluate(q);
      last = now;
      return now.series > 0 && now.value !== undefined && moved(before.get(keyOf(q)), now.value) ? now : undefined;
    }, { timeoutMs: 45_000, intervalMs: 500 }).catch((error: Error) => {
      throw new Error(`${error.message}; before ${before.get(keyOf(q))}, last ${JSON.stringify(last)}`);
    });
    observed.set(keyOf(q), { before: before.get(keyOf(q)), after: seen.value!, series: seen.series });
  }
}

/** Waits until Prometheus has scraped a series `selector` matches. */
const scraped = (selector: string) => waitFor(`prometheus scraped ${selector}`, async () => (await prometheus.query(selector)).length > 0 || undefined,
  { timeoutMs: 20_000, intervalMs: 250 });

const event = (user: string) => ({ user_id: user, event_type: 'page_view' });
const record = (user: string) => ({
  key: user,
  value: JSON.stringify({ user_id: user, event_type: 'page_view', properties: {}, event_id: randomUUID(), server_timestamp: new Date().toISOString(), client_ip: '127.0.0.1' }),
});

describe('the Grafana board against a live run', () => {
  it('covers every query on the board with a condition this test provokes', () => {
    expect(queries.map(keyOf).sort()).toEqual(Object.keys(expected).sort());
  });

  it('every query returns series in a real Prometheus and moves when its condition is provoked; the alerts those conditions cross fire', async () => {
    let targets = '';
    await waitFor('every target scraped', async () => {
      const up = await prometheus.query('up');
      const took = await prometheus.query('scrape_duration_seconds');
      targets = up.map((t) => `${t.metric.job}=${t.value}`).join(' ') + '; scrape s: ' + took.map((t) => `${t.metric.job}=${t.value.toFixed(2)}`).join(' ');
      return (up.length === 6 && up.every((t) => t.value === 1)) || undefined;
    }, { timeoutMs: 30_000, intervalMs: 500 }).catch((error: Error) => {
      throw new Error(`${error.message}; up: ${targets}`);
    });

    await phase('traffic', async () => {
      // 40 events from one address (under nginx's burst of 50, so all accepted): one first, so that
      // Prometheus has the counters' series before the others (rate() needs an increase it has seen).
      expect((await track(nginx.url, event('grafana_first'), { localAddress: '127.0.6.1' })).status).toBe(202);
      await scraped('http_requests_total{status="202"}');
      for (let i = 1; i < 40; i += 3) {
        const answers = await Promise.all([0, 1, 2].map((k) => track(nginx.url, event(`grafana_${i + k}`), { localAddress: '127.0.6.1' })));
        expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
      }
    });

    await phase('burst', async () => {
      const burst = await Promise.all(Array.from({ length: 80 }, (_, i) => track(nginx.url, event(`grafana_burst_${i}`), { localAddress: '127.0.6.2' })));
      console.log('burst of 80 through nginx:', countByStatus(burst));
      expect(burst.some((r) => r.status === 429)).toBe(true);
    });

    await phase('kafka-slow', async () => {
      const proxy = await toxiproxy.get(kafkaProxyName);
      await proxy.addToxic({ name: 'grafana-slow-kafka', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 3_000, jitter: 0 } });
      try {
        // One first, scraped, then two more: the 503 and failure counters appear with the first.
        expect((await track(nginx.url, event('grafana_slow_first'), { localAddress: '127.0.6.3' })).status).toBe(503);
        await scraped('http_requests_total{status="503"} and on() kafka_produce_failures_total');
        const answers = await Promise.all([0, 1].map((k) => track(nginx.url, event(`grafana_slow_${k}`), { localAddress: '127.0.6.3' })));
        expect(answers.map((a) => a.status)).toEqual([503, 503]);
      } finally {
        await removeToxics(toxiproxyUrl, kafkaProxyName);
      }
    });

    // Lab 07's replica keeps answering (fail-open) while every request's limit goes unchecked;
    // the requests go on in the background until the alerts below have fired.
    let storeTraffic = true;
    const storeLoop = (async () => {
      let i = 0;
      while (storeTraffic) {
        const answer = await track(storeApi.url, event(`grafana_customer_${i++}`), { headers: { authorization: 'Bearer key-of-acme' } });
        expect(answer.status).toBe(202);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    try {
      await phase('store-down', async () => undefined);

      await waitFor('the worker caught up before it stops', async () => {
        const [lag] = await prometheus.query(`sum(max by (partition) (kafka_consumer_lag{group="${groupId}"}))`);
        return lag?.value === 0 || undefined;
      }, { timeoutMs: 45_000, intervalMs: 500 });
      await phase('worker-stopped', async () => {
        await worker.process.stop();
        // One user: one partition. The retry and dead-letter records only need to be there, unread.
        await producer.send({ topic, acks: -1, messages: Array.from({ length: 1_200 }, () => record('grafana_hot_user')) });
        await producer.send({ topic: retryTopic, acks: -1, messages: Array.from({ length: 150 }, (_, i) => record(`grafana_retry_${i}`)) });
        await producer.send({ topic: dlqTopic, acks: -1, messages: Array.from({ length: 3 }, (_, i) => record(`grafana_dead_${i}`)) });
      });

      const mustFire = ['CustomerLimitStoreFailing', 'RetryTopicDepthHigh', 'ConsumerLagPartitionSkew', 'MirrorReplicationLagHigh'];
      let states = '';
      await waitFor(`${mustFire.join(', ')} firing`, async () => {
        const rules = await prometheus.rules();
        states = rules.map((r) => `${r.name}=${r.state}`).join(' ');
        return mustFire.every((name) => rules.find((r) => r.name === name)?.state === 'firing') || undefined;
      }, { timeoutMs: 60_000, intervalMs: 500 }).catch((error: Error) => {
        throw new Error(`${error.message}; states: ${states}`);
      });
      const rules = await prometheus.rules();
      expect(rules.filter((r) => mustFire.includes(r.name)).every((r) => r.health === 'ok')).toBe(true);
      expect(rules.find((r) => r.name === 'ConsumerLagPartitionSkew')!.alerts[0]!.labels).toMatchObject({ group: groupId, topic });
    } finally {
      storeTraffic = false;
      await storeLoop;
    }

    // The replication lag moved again with the backlog, and the home-made dashboard shows it too.
    const replication = queries.find((q) => keyOf(q) === 'Replication lag A → B › A')!;
    const [fromPrometheus] = await prometheus.query(toPromQL(replication.expr, { rateInterval: '1m', interval: '15s', range: '30m' }));
    expect(fromPrometheus!.value).toBeGreaterThanOrEqual(1_240);
    await waitFor('the dashboard shows the replication lag', async () => (dashboard.points().at(-1)?.replicationLag ?? 0) >= 1_240 || undefined,
      { timeoutMs: 15_000, intervalMs: 250 });
    const series = (await (await fetch(`${dashboard.url}/api/series`)).json()) as { regions: boolean };
    expect(series.regions).toBe(true);

    for (const [key, o] of observed) console.log(`${key}: ${o.before ?? 'no value'} → ${o.after} (${o.series} series)`);
    expect([...observed.keys()].sort()).toEqual(Object.keys(expected).sort());
  });
});
