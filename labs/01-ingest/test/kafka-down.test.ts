import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restartKafka, startKafka, type KafkaBroker } from '../../../infra/kafka.js';
import { waitFor } from '../../../infra/processes.js';
import { countByStatus, httpRequest, track, type HttpResult } from '../../../shared/testing/http.js';
import { createTopic, readTopic } from '../../../shared/testing/kafka.js';
import { startInProcessApi, type InProcessApi } from './in-process-api.js';

// This file stops its broker, so it starts one of its own instead of the shared one.
const PUBLISH_TIMEOUT_MS = 3_000;
const topic = 'crm-events';
let kafka: KafkaBroker;
let api: InProcessApi;

beforeAll(async () => {
  kafka = await startKafka();
  await createTopic(kafka.brokers, topic, 2);
  api = await startInProcessApi(kafka.brokers, { KAFKA_TOPIC: topic, PUBLISH_TIMEOUT_MS: String(PUBLISH_TIMEOUT_MS) });
});
afterAll(async () => {
  await api?.close();
  await kafka?.process.stop();
});

const send = (i: number) =>
  track(api.url, { user_id: `user_${i % 3}`, event_type: 'page_view', properties: { i } }, { timeoutMs: PUBLISH_TIMEOUT_MS + 5_000 });

describe('the broker goes down', () => {
  it('answers 503 (never 202) while Kafka is stopped, and every 202 survives a broker restart', async () => {
    const before: HttpResult[] = [];
    for (let i = 0; i < 5; i++) before.push(await send(i));
    expect(countByStatus(before)).toEqual({ 202: 5 });

    await kafka.process.stop();
    const during: HttpResult[] = [];
    for (let i = 5; i < 10; i++) during.push(await send(i));
    console.log(`with the broker stopped: ${JSON.stringify(countByStatus(during))}, slowest answer ${Math.max(...during.map((r) => r.elapsedMs)).toFixed(0)} ms (publish timeout ${PUBLISH_TIMEOUT_MS} ms)`);
    expect(countByStatus(during)).toEqual({ 503: 5 });
    for (const r of during) {
      expect(r.body.error).toBe('kafka_unavailable');
      expect(r.headers['retry-after']).toBe('1');
    }
    expect((await httpRequest({ url: `${api.url}/ready` })).status).toBe(503);

    kafka = await restartKafka(kafka);
    // Readiness comes back by itself once the broker answers again, before any write succeeds.
    await waitFor('/ready to answer 200 again', async () => (await httpRequest({ url: `${api.url}/ready` })).status === 200,
      { timeoutMs: 60_000, intervalMs: 500 });
    const after = await waitFor('the API to accept again after the broker restart', async () => {
      const res = await send(100);
      return res.status === 202 ? res : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });

    const stored = new Set((await readTopic(kafka.brokers, topic)).map((r) => r.value.event_id));
    const acked = [...before, after].map((r) => r.body.event_id);
    expect(acked.filter((id) => !stored.has(id))).toEqual([]);
  });
});
