/**
 * Lab 03, exercise 7: the chaos clients (shared/retry.ts's TrackClient) wait exactly Retry-After
 * when the server sends one, so every client limited at the same moment comes back together. Add
 * jitter on top of Retry-After. The test reads each client's chosen wait from its ledger
 * (`Attempt.waitMs`): values the client computed, not timings.
 * Fails on the reference with: `expected 0 to be greater than or equal to 100` (tools/learn/ci.ts checks it does, in CI).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApiReplica, type ApiReplica } from '../../../infra/api.js';
import { startNginx, type NginxServer } from '../../../infra/nginx.js';
import { TrackClient } from '../../../shared/retry.js';
import { createTopic, uniqueTopic } from '../../../shared/testing/kafka.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('ex03-jitter');
const CLIENTS = 20;
let replica: ApiReplica;
let nginx: NginxServer;

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  replica = await startApiReplica({ id: 'api-1', brokers, env: { KAFKA_TOPIC: topic } });
  // 1 request/s and a burst of 1 per IP: of 20 clients on one IP, most get nginx's 429 with Retry-After: 1.
  nginx = await startNginx({ upstreams: [`127.0.0.1:${replica.port}`], rate: 1, burst: 1 });
});
afterAll(async () => {
  await nginx?.process.stop();
  await replica?.process.stop();
});

describe('lab 03 exercise 7: jitter on top of Retry-After', () => {
  it('20 clients told "Retry-After: 1" at the same moment each wait at least 1 s, and their waits spread over at least 100 ms', async () => {
    const deliveries = await Promise.all(Array.from({ length: CLIENTS }, async (_, i) => {
      const client = new TrackClient(nginx.url, { localAddress: '127.0.7.3', maxAttempts: 2 });
      try {
        return await client.send({ user_id: `herd_${i}`, event_type: 'page_view' });
      } finally {
        client.close();
      }
    }));
    const told = deliveries.map((d) => d.attempts[0]!).filter((a) => a.status === 429 && a.headers?.['retry-after'] === '1');
    const waits = told.map((a) => a.waitMs!).sort((a, b) => a - b);
    console.log(`${told.length} of ${CLIENTS} clients got Retry-After: 1; their waits (ms): ${waits.join(' ')}`);
    expect(told.length).toBeGreaterThanOrEqual(CLIENTS / 2);
    expect(waits.filter((w) => w < 1_000)).toEqual([]); // Retry-After is still honoured
    expect(waits.at(-1)! - waits[0]!).toBeGreaterThanOrEqual(100);
  });
});
