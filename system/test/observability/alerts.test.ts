/**
 * docs/alerts.yml against a live run: promtool checks and unit-tests the rules (with their real
 * `for:` durations, 1 to 10 minutes), then a real Prometheus server scrapes a real API (behind
 * nginx, through Toxiproxy to Kafka), the nginx exporter and a worker, and evaluates the design's
 * three rules — first on quiet traffic, then while each condition is provoked: a burst beyond nginx's limit, a
 * 150 ms latency toxic on the API's Kafka connection, and 12,000 events in front of a slow worker —
 * until each alert fires. (The other three — lab 07's limit store, the retry topic, partition skew —
 * are provoked in grafana-live.test.ts.)
 *
 * The live run loads a copy of docs/alerts.yml whose only change is `for:` (10 s instead of minutes,
 * checked line by line below): the expressions, thresholds and labels are the real ones, and holding
 * every condition for 5 minutes would make the test several minutes longer for nothing the promtool
 * unit tests do not already check.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Admin, Producer } from 'kafkajs';
import { Toxiproxy } from 'toxiproxy-node-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startNginx, type NginxServer } from '../../../infra/nginx.js';
import { repoRoot } from '../../../infra/paths.js';
import { freePort, waitFor } from '../../../infra/processes.js';
import { startWorker, type WorkerProcess } from '../../../infra/worker.js';
import { createKafka } from '../../../shared/kafka.js';
import { consumerLag, totalLag } from '../../../shared/lag.js';
import type { MetricsServer } from '../../../shared/metrics.js';
import { countByStatus, track } from '../../../shared/testing/http.js';
import { createTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { removeToxics } from '../../../shared/testing/toxics.js';
import { startInProcessApi, type InProcessApi } from '../../../labs/01-ingest/test/in-process-api.js';
import { startNginxExporter } from '../../../shared/observability/nginx-exporter.js';
import { alertRulesFile, promtoolBin, startPrometheus, type PrometheusServer } from '../../../shared/observability/prometheus.js';

const exec = promisify(execFile);
const { brokers, proxiedBrokers, toxiproxyUrl, kafkaProxyName } = inject('kafka');
const topic = uniqueTopic('obs-alerts');
const groupId = uniqueTopic('obs-alerts-group');
const dir = mkdtempSync(join(tmpdir(), 'obs-alerts-'));
const toxiproxy = new Toxiproxy(toxiproxyUrl);
let api: InProcessApi;
let nginx: NginxServer;
let exporter: MetricsServer;
let worker: WorkerProcess;
let prometheus: PrometheusServer;
let admin: Admin;
let producer: Producer;

/** `for:` of the live run's copy of the rules. */
const LIVE_FOR_SECONDS = 10;
/** The rules this run provokes; the others (lab 07's store, retry depth, skew) are provoked by grafana-live.test.ts. */
const provoked = ['ApiLatencyP95High', 'ConsumerLagCritical', 'RateLimitRejectionsHigh'];
const realRules = readFileSync(alertRulesFile, 'utf8');
const liveRules = realRules.replace(/^(\s+for:\s*)\S+$/gm, `$1${LIVE_FOR_SECONDS}s`);
const liveRulesFile = join(dir, 'alerts.live.yml');
writeFileSync(liveRulesFile, liveRules);

beforeAll(async () => {
  await removeToxics(toxiproxyUrl, kafkaProxyName);
  await createTopic(brokers, topic, 2);
  // The API reaches Kafka through Toxiproxy, so a latency toxic slows its produce (and /track).
  api = await startInProcessApi(proxiedBrokers, { KAFKA_TOPIC: topic, RATE_LIMIT_MAX: '100000' });
  nginx = await startNginx({ upstreams: [new URL(api.url).host], rate: 20, burst: 50, workers: 1 });
  exporter = await startNginxExporter({ errorLog: join(dirname(nginx.confFile), 'error.log') });
  const workerPort = await freePort();
  // 50 ms of simulated work per event: 20 events/s, so a backlog of 12,000 stays above 10,000 for minutes.
  worker = startWorker({ id: 'obs-alerts-worker', brokers, profileDb: join(dir, 'profiles.db'), logDir: dir,
    env: { KAFKA_TOPIC: topic, CONSUMER_GROUP: groupId, METRICS_PORT: String(workerPort), PROCESS_DELAY_MS: '50' } });
  prometheus = await startPrometheus({
    rules: [liveRulesFile],
    jobs: { api: [new URL(api.url).host], worker: [`127.0.0.1:${workerPort}`], nginx: [new URL(exporter.url).host] },
    dir,
  });
  admin = createKafka(brokers, 'obs-alerts-test').admin();
  await admin.connect();
  producer = createKafka(brokers, 'obs-alerts-test').producer();
  await producer.connect();
});
afterAll(async () => {
  await removeToxics(toxiproxyUrl, kafkaProxyName).catch(() => undefined);
  await worker?.process.kill(); // a backlog of slow events is left: no graceful stop
  await prometheus?.stop();
  await nginx?.process.stop();
  await exporter?.close();
  await api?.close();
  await producer?.disconnect();
  await admin?.disconnect();
});

/** Waits until Prometheus' latest samples satisfy `check` (value of a single-result query). */
async function promWaits(what: string, expr: string, check: (value: number) => boolean, timeoutMs = 30_000): Promise<{ value: number }> {
  let last: unknown;
  try {
    return await waitFor(`prometheus: ${what} (${expr})`, async () => {
      const [result] = await prometheus.query(expr);
      last = result?.value;
      return result !== undefined && check(result.value) ? result : undefined; // (an object: 0 is a value too)
    }, { timeoutMs, intervalMs: 500 });
  } catch (error) {
    const targets = await prometheus.query('up');
    const durations = await prometheus.query('scrape_duration_seconds');
    console.log(`last value ${String(last)}; up:`, targets.map((t) => `${t.metric.job}=${t.value}`).join(' '),
      'scrape s:', durations.map((t) => `${t.metric.job}=${t.value.toFixed(3)}`).join(' '));
    throw error;
  }
}

describe('docs/alerts.yml', () => {
  it('is valid and passes its promtool unit tests (each threshold just below and just above)', async () => {
    const check = await exec(promtoolBin, ['check', 'rules', join(repoRoot, 'docs', 'alerts.yml')]);
    expect(check.stdout).toContain('SUCCESS: 6 rules found');
    const unit = await exec(promtoolBin, ['test', 'rules', join(repoRoot, 'docs', 'alerts.test.yml')]);
    expect(unit.stdout).toContain('SUCCESS');
  });

  it("the live run's copy differs from docs/alerts.yml only in its 6 `for:` durations", () => {
    const real = realRules.split('\n');
    const live = liveRules.split('\n');
    expect(live).toHaveLength(real.length);
    const changed = real.flatMap((line, i) => (line === live[i] ? [] : [[line.trim(), live[i]!.trim()]]));
    expect(changed).toEqual([['for: 2m', 'for: 10s'], ['for: 5m', 'for: 10s'], ['for: 5m', 'for: 10s'],
      ['for: 1m', 'for: 10s'], ['for: 10m', 'for: 10s'], ['for: 10m', 'for: 10s']]);
  });

  it("evaluated by a real Prometheus on a live run: nothing fires on quiet traffic, each of the design's three rules fires when its condition is provoked", async () => {
    const rules = await prometheus.rules();
    expect(rules.map((r) => r.name).sort()).toEqual(['ApiLatencyP95High', 'ConsumerLagCritical', 'ConsumerLagPartitionSkew',
      'CustomerLimitStoreFailing', 'RateLimitRejectionsHigh', 'RetryTopicDepthHigh']);
    // The rules API reports each rule's `for:` in seconds.
    expect(rules.map((r) => (r as typeof r & { duration: number }).duration)).toEqual(rules.map(() => LIVE_FOR_SECONDS));
    const rule = (name: string) => rules.find((r) => r.name === name)!;

    // Quiet: 20 events, all accepted and processed; in two halves, so that Prometheus scrapes the
    // counters' series before and after the second half (rate() needs an increase it has seen).
    for (let i = 0; i < 20; i++) {
      if (i === 10) await promWaits('10 accepted', 'sum(http_requests_total{route="/track",status="202"})', (v) => v === 10);
      expect((await track(nginx.url, { user_id: `quiet_${i}`, event_type: 'page_view' }, { localAddress: '127.0.4.1' })).status).toBe(202);
    }
    await waitFor('worker drained', async () => totalLag(await consumerLag(admin, groupId, topic)) === 0, { timeoutMs: 60_000, intervalMs: 250 });
    await promWaits('20 accepted', 'sum(http_requests_total{route="/track",status="202"})', (v) => v === 20);
    await promWaits('20 processed', 'sum(events_processed_total)', (v) => v === 20);
    await promWaits('lag scraped as 0', 'sum(kafka_consumer_lag)', (v) => v === 0);
    await promWaits('nginx exporter scraped', 'sum(nginx_rate_limited_total)', (v) => v === 0);
    // rate() needs two samples of the counters in its window.
    await promWaits('a request rate', 'sum(rate(http_requests_total{route="/track"}[5m]))', (v) => v > 0);
    // Each rule's expression without its comparison is a real number below the threshold, and the rule returns nothing.
    const measured = (name: string) => prometheus.query(rule(name).query.replace(/>\s*[\d.]+\s*$/, ''));
    expect((await measured('ConsumerLagCritical')).map((r) => r.value)).toEqual([0]);
    expect((await measured('RateLimitRejectionsHigh')).map((r) => r.value)).toEqual([0]);
    expect(await prometheus.query(rule('ConsumerLagCritical').query)).toEqual([]);
    expect(await prometheus.query(rule('RateLimitRejectionsHigh').query)).toEqual([]);
    // (Not the latency rule: quiet p95 is a timing, and on a busy machine it can exceed 100 ms.)
    const quietStates = await prometheus.rules();
    expect(['ConsumerLagCritical', 'RateLimitRejectionsHigh'].map((name) => quietStates.find((r) => r.name === name)!.state))
      .toEqual(['inactive', 'inactive']);
    const [quietP95] = await measured('ApiLatencyP95High');
    console.log(`quiet: POST /track p95 ${((quietP95?.value ?? NaN) * 1000).toFixed(1)} ms (not asserted: a timing)`);

    // Rate limiting: 80 requests at once from one IP; nginx lets burst 50 (+ refill) through.
    const burst = await Promise.all(Array.from({ length: 80 }, (_, i) =>
      track(nginx.url, { user_id: `burst_${i}`, event_type: 'click' }, { localAddress: '127.0.4.2' })));
    const rejected = burst.filter((r) => r.status === 429).length;
    console.log('burst of 80 through nginx:', countByStatus(burst));
    expect(rejected).toBeGreaterThan(0);
    await promWaits('nginx 429s scraped', 'sum(nginx_rate_limited_total)', (v) => v === rejected);

    // Latency: every broker answer to the API delayed by 150 ms, for 30 requests.
    const proxy = await toxiproxy.get(kafkaProxyName);
    await proxy.addToxic({ name: 'obs-latency', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 150, jitter: 0 } });
    try {
      for (let i = 0; i < 30; i++) {
        expect((await track(nginx.url, { user_id: `slow_${i}`, event_type: 'page_view' }, { localAddress: '127.0.4.3' })).status).toBe(202);
      }
    } finally {
      await removeToxics(toxiproxyUrl, kafkaProxyName);
    }

    // Lag: 12,000 events written straight to the topic, in front of a worker doing 20 events/s.
    const backlog = Array.from({ length: 12_000 }, (_, i) => ({
      key: `backlog_${i % 100}`,
      value: JSON.stringify({ user_id: `backlog_${i % 100}`, event_type: 'page_view', properties: {}, event_id: randomUUID(),
        server_timestamp: new Date().toISOString(), client_ip: '127.0.0.1' }),
    }));
    for (let i = 0; i < backlog.length; i += 2_000) await producer.send({ topic, acks: -1, messages: backlog.slice(i, i + 2_000) });

    // Each provoked rule's expression now returns a value beyond its threshold: each alert is
    // pending, then fires once its condition has held for its `for:`.
    let lastStates = '';
    const alerts = await waitFor('all three alerts firing', async () => {
      const states = (await prometheus.rules()).filter((r) => provoked.includes(r.name));
      lastStates = states.map((r) => `${r.name}=${r.state}`).join(' ');
      return states.every((r) => r.state === 'firing') ? states : undefined;
    }, { timeoutMs: 90_000, intervalMs: 500 }).catch((error: Error) => {
      throw new Error(`${error.message}; last states: ${lastStates}`);
    });
    expect(alerts.flatMap((r) => r.alerts.map((a) => a.state))).toEqual(['firing', 'firing', 'firing']);
    // The value each rule's expression had when Prometheus evaluated it.
    const value = (name: string) => Number(alerts.find((r) => r.name === name)!.alerts[0]!.value);
    console.log(`provoked: lag ${value('ConsumerLagCritical')}, /track p95 ${(value('ApiLatencyP95High') * 1000).toFixed(1)} ms, ` +
      `rejected ${(value('RateLimitRejectionsHigh') * 100).toFixed(1)}%`);
    expect(value('ConsumerLagCritical')).toBeGreaterThan(10_000);
    expect(alerts.find((r) => r.name === 'ConsumerLagCritical')!.alerts[0]!.labels).toMatchObject({ group: groupId, topic, severity: 'critical' });
    expect(value('ApiLatencyP95High')).toBeGreaterThan(0.1);
    expect(value('RateLimitRejectionsHigh')).toBeGreaterThan(0.01);
    // And the expression itself, evaluated again now, still returns the lag (20 events/s cannot drain 2,000 in seconds).
    const [lagNow] = await prometheus.query(rule('ConsumerLagCritical').query);
    expect(lagNow!.value).toBeGreaterThan(10_000);
    expect(Object.fromEntries(alerts.map((r) => [r.name, r.labels.severity]))).toEqual({
      ConsumerLagCritical: 'critical', ApiLatencyP95High: 'warning', RateLimitRejectionsHigh: 'info',
    });
    expect(alerts.every((r) => r.health === 'ok')).toBe(true);
  });
});
