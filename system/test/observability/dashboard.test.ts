/**
 * `npm run dashboard` in a real browser (Debian's Chromium, headless, driven by playwright-core)
 * during a real run: an in-process API on the shared broker and a worker process. The plotted
 * numbers must move with the traffic: accepted/s and p99 appear with the load, the totals reach
 * the exact counts, and the lag rises with a backlog and falls back to 0 once it is processed.
 * Lab 08's replication-lag card is shown because a real `npm run region -- metrics` is a target:
 * both regions are this broker, with MirrorMaker's topics but no MirrorMaker, so region B lacks
 * every record and the card shows the topic's record count.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../../../infra/paths.js';
import { freePort, launch, waitFor, waitForPort, type ManagedProcess } from '../../../infra/processes.js';
import { startWorker, type WorkerProcess } from '../../../infra/worker.js';
import { createKafka } from '../../../shared/kafka.js';
import { track } from '../../../shared/testing/http.js';
import { createTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { startInProcessApi, type InProcessApi } from '../../../labs/01-ingest/test/in-process-api.js';
import { startDashboard, type Dashboard } from '../../../shared/observability/dashboard.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('obs-dashboard');
const groupId = uniqueTopic('obs-dashboard-group');
const dir = mkdtempSync(join(tmpdir(), 'obs-dashboard-'));
let api: InProcessApi;
let worker: WorkerProcess;
let dashboard: Dashboard;
let browser: BrowserContext;
let page: Page;
let producer: Producer;
let region: ManagedProcess;

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  api = await startInProcessApi(brokers, { KAFKA_TOPIC: topic, RATE_LIMIT_MAX: '100000' });
  const workerPort = await freePort();
  // 5 ms of simulated work per event (≈200 events/s): a backlog takes a few seconds to drain.
  worker = startWorker({ id: 'obs-dashboard-worker', brokers, profileDb: join(dir, 'profiles.db'), logDir: dir,
    env: { KAFKA_TOPIC: topic, CONSUMER_GROUP: groupId, METRICS_PORT: String(workerPort), PROCESS_DELAY_MS: '5', COMMIT_EVERY: '20' } });
  const admin = createKafka(brokers, 'obs-dashboard-test').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'mm2-offset-syncs.B.internal', numPartitions: 1 }, { topic: `A.${topic}`, numPartitions: 2 }] });
  await admin.disconnect();
  const regionPort = await freePort();
  region = launch('region-metrics', process.execPath, ['--import', 'tsx', join(repoRoot, 'labs/08-multi-region/src/region-cli.ts'), 'metrics', String(regionPort)], {
    cwd: repoRoot, logFile: join(dir, 'region-metrics.log'),
    env: { REGION_A_BROKERS: brokers.join(','), REGION_B_BROKERS: brokers.join(','), KAFKA_TOPIC: topic, KAFKAJS_LOG_LEVEL: 'nothing' },
  });
  await waitForPort(region, regionPort);
  dashboard = await startDashboard({ apis: [api.url], workers: [`http://127.0.0.1:${workerPort}`], regions: [`http://127.0.0.1:${regionPort}`], intervalMs: 500 });
  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'obs-chromium-')), {
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  producer = createKafka(brokers, 'obs-dashboard-test').producer();
  await producer.connect();
});
afterAll(async () => {
  await browser?.close();
  await dashboard?.close();
  await region?.stop();
  await worker?.process.stop();
  await api?.close();
  await producer?.disconnect();
});

const text = (id: string) => page.locator(`#${id}`).innerText();
const num = async (id: string) => Number(await text(id));
/** Waits until the page shows what `check` wants. */
const pageShows = (what: string, check: () => Promise<boolean>, timeoutMs = 30_000) =>
  waitFor(`the page shows ${what}`, async () => (await check()) || undefined, { timeoutMs, intervalMs: 250 });

describe('npm run dashboard in headless Chromium', () => {
  it('plots throughput, p99 and lag that move with a real run', async () => {
    await page.goto(dashboard.url);
    // Before any traffic (once the worker's metrics server answers): nothing accepted, lag 0.
    await pageShows('the first points', async () => (await text('total-accepted')) === '0' && (await text('value-lag')) === '0');
    expect(await text('value-throughput')).toBe('0.0');
    expect(await text('value-p99')).toBe('–'); // no request yet

    // Load: 150 events over a few seconds, 3 at a time.
    let sent = 0;
    const load = (async () => {
      for (let i = 0; i < 50; i++) {
        const results = await Promise.all([0, 1, 2].map((k) => track(api.url, { user_id: `dash_${k}`, event_type: 'page_view' }, { localAddress: '127.0.5.1' })));
        sent += results.filter((r) => r.status === 202).length;
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    })();
    await pageShows('a non-zero throughput and a p99 while the load runs', async () =>
      Number(await text('value-throughput')) > 0 && Number.isFinite(Number(await text('value-p99'))));
    const throughputLine = await page.locator('#line-throughput').getAttribute('points');
    await load;
    expect(sent).toBe(150);
    await pageShows('exactly 150 accepted and 150 processed', async () =>
      (await num('total-accepted')) === 150 && (await num('total-processed')) === 150);
    // The line was redrawn with more points since.
    expect(await page.locator('#line-throughput').getAttribute('points')).not.toBe(throughputLine);
    expect(Number(await text('max-throughput'))).toBeGreaterThan(0);
    expect(Number(await text('max-p99'))).toBeGreaterThan(0);
    await page.screenshot({ path: join(dir, 'dashboard-load.png') });

    // Lag: 1,500 events straight to the topic; the worker (≈200/s) needs seconds to catch up.
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 1_500 }, (_, i) => ({
      key: `dash_backlog_${i % 10}`,
      value: JSON.stringify({ user_id: `dash_backlog_${i % 10}`, event_type: 'page_view', properties: {}, event_id: randomUUID(),
        server_timestamp: new Date().toISOString(), client_ip: '127.0.0.1' }),
    })) });
    await pageShows('the lag rising', async () => (await num('value-lag')) > 0);
    const lagLine = await page.locator('#line-lag').getAttribute('points');
    await page.screenshot({ path: join(dir, 'dashboard-lag.png') });
    await pageShows('the lag back to 0 and every event processed', async () =>
      (await num('value-lag')) === 0 && (await num('total-processed')) === 1_650, 60_000);
    expect(Number(await text('max-lag'))).toBeGreaterThan(0);
    expect(await page.locator('#line-lag').getAttribute('points')).not.toBe(lagLine);
    expect(await page.locator('#targets').innerText()).not.toContain('○'); // every target up
    // Lab 08's card, shown since a region target is configured: B lacks all 1,650 records.
    await pageShows('the replication lag of every record', async () => (await num('value-replication')) === 1_650, 30_000);
    expect(await page.locator('#card-replication').isVisible()).toBe(true);
    console.log(`screenshots: ${join(dir, 'dashboard-load.png')} ${join(dir, 'dashboard-lag.png')}`);
  });
});
