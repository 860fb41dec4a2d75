/**
 * Lab 01, exercise 1: one rate limit for the whole cluster. Today each replica counts a client IP
 * alone, so through nginx's round-robin one IP gets about 3 × 100 requests a minute.
 * The test gives every replica `RATE_LIMIT_REDIS_URL` (a Redis of its own): use it for
 * `@fastify/rate-limit`'s `redis` store, or route by client IP in nginx instead (then it is unused).
 * Fails on the reference with: `expected [ 202, 202, 202 ] to deeply equal [ 429, 429, 429 ]` (tools/learn/ci.ts checks it does, in CI).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApiReplica, type ApiReplica } from '../../../infra/api.js';
import { startNginx, type NginxServer } from '../../../infra/nginx.js';
import { startRedis, type RedisServer } from '../../../infra/redis.js';
import { countByStatus, track, type HttpResult } from '../../../shared/testing/http.js';
import { createTopic, topicMessageCount, uniqueTopic } from '../../../shared/testing/kafka.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('ex01-cluster-limit');
let redis: RedisServer;
let replicas: ApiReplica[] = [];
let nginx: NginxServer;

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  redis = await startRedis();
  replicas = await Promise.all(['api-1', 'api-2', 'api-3'].map((id) =>
    startApiReplica({ id, brokers, env: { KAFKA_TOPIC: topic, RATE_LIMIT_REDIS_URL: redis.url } })));
  // nginx's own per-IP limit (20 r/s) set out of the way: this is about the replicas' 100 a minute.
  nginx = await startNginx({ upstreams: replicas.map((r) => `127.0.0.1:${r.port}`), rate: 1000, burst: 1000 });
});
afterAll(async () => {
  await nginx?.process.stop();
  await Promise.all(replicas.map((r) => r.process.stop()));
  await redis?.process.stop();
});

describe('lab 01 exercise 1: one rate limit for the whole cluster', () => {
  it('through nginx, from one IP, requests 101-103 in a minute get 429 whichever replica each reaches; the first 100 are stored', async () => {
    const ip = '127.0.7.1';
    const results: HttpResult[] = [];
    for (let batch = 0; batch < 10; batch++) {
      results.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) =>
        track(nginx.url, { user_id: `cluster_${batch}_${i}`, event_type: 'page_view' }, { localAddress: ip })))));
    }
    expect(countByStatus(results)).toEqual({ 202: 100 });

    // Three more, one after another: round-robin sends them to three different replicas.
    const over: { status: number; replica: unknown }[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await track(nginx.url, { user_id: `cluster_over_${i}`, event_type: 'page_view' }, { localAddress: ip });
      over.push({ status: res.status, replica: res.headers['x-api-instance'] });
    }
    console.log('requests 101-103 (status, replica):', over);
    expect(over.map((o) => o.status)).toEqual([429, 429, 429]);
    expect(await topicMessageCount(brokers, topic)).toBe(100);
  });
});
