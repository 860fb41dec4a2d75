import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { partitionFor } from '../../../shared/kafka.js';
import { countByStatus, httpRequest, track } from '../../../shared/testing/http.js';
import { createTopic, readTopic, topicMessageCount, uniqueTopic } from '../../../shared/testing/kafka.js';
import { startInProcessApi, type InProcessApi } from './in-process-api.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('lab01-track');
const PARTITIONS = 2;
let api: InProcessApi;

beforeAll(async () => {
  await createTopic(brokers, topic, PARTITIONS);
  api = await startInProcessApi(brokers, { KAFKA_TOPIC: topic, KAFKA_TOPIC_PARTITIONS: String(PARTITIONS) });
});
afterAll(() => api?.close());

describe('POST /track on a real broker', () => {
  it('acks with 202 only once the event is in Kafka, enriched, on the partition of its user_id', async () => {
    // A minute ago, whatever today's date: the API refuses timestamps more than 5 minutes ahead.
    const event = { user_id: 'user_123', event_type: 'page_view', properties: { page: '/pricing' }, timestamp: new Date(Date.now() - 60_000).toISOString() };
    const res = await track(api.url, event, { localAddress: '127.0.0.2' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'accepted', event_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });

    const stored = (await readTopic(brokers, topic)).find((r) => r.value.event_id === res.body.event_id);
    expect(stored).toBeDefined();
    expect(stored!.key).toBe('user_123');
    expect(stored!.partition).toBe(partitionFor('user_123', PARTITIONS));
    expect(stored!.headers.event_id).toBe(res.body.event_id);
    expect(stored!.value).toMatchObject({ ...event, client_ip: '127.0.0.2', event_id: res.body.event_id });
    expect(Date.parse(stored!.value.server_timestamp)).toBeGreaterThan(Date.parse(event.timestamp));
  });

  it('keeps one user\'s events in order on one partition', async () => {
    const user = 'user_ordered';
    const ids: string[] = [];
    for (let seq = 0; seq < 20; seq++) {
      const res = await track(api.url, { user_id: user, event_type: 'click', properties: { seq } }, { localAddress: '127.0.0.3' });
      expect(res.status).toBe(202);
      ids.push(res.body.event_id);
    }
    const mine = (await readTopic(brokers, topic)).filter((r) => r.key === user);
    expect(new Set(mine.map((r) => r.partition))).toEqual(new Set([partitionFor(user, PARTITIONS)]));
    expect(mine.map((r) => r.value.event_id)).toEqual(ids);
    expect(mine.map((r) => r.value.properties.seq)).toEqual([...Array(20).keys()]);
  });

  it('ignores X-Forwarded-For from a client that is not the trusted proxy', async () => {
    const res = await track(api.url, { user_id: 'user_forged_ip', event_type: 'page_view' },
      { localAddress: '127.0.0.11', headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(res.status).toBe(202);
    const stored = (await readTopic(brokers, topic)).find((r) => r.value.event_id === res.body.event_id);
    expect(stored!.value.client_ip).toBe('127.0.0.11');
  });

  it('keeps a client-supplied event_id, so a retried event can be recognised downstream', async () => {
    const event_id = '0b6f1c1e-5d0a-4f5e-9a51-6a4c2f1b7e21';
    const res = await track(api.url, { user_id: 'user_retry', event_type: 'signup', event_id }, { localAddress: '127.0.0.4' });
    expect(res.status).toBe(202);
    expect(res.body.event_id).toBe(event_id);
  });

  it('answers each bad input with its 4xx and a reason, and writes nothing to Kafka', async () => {
    const before = await topicMessageCount(brokers, topic);
    const send = (body: unknown, headers?: Record<string, string>) =>
      httpRequest({ url: `${api.url}/track`, method: 'POST', body, headers, localAddress: '127.0.0.5' });
    const cases: { name: string; res: Promise<Awaited<ReturnType<typeof send>>>; status: number; error: string; mentions: string }[] = [
      { name: 'malformed JSON', res: send('{"user_id": "u1", '), status: 400, error: 'invalid_request', mentions: 'JSON' },
      { name: 'empty body', res: send(''), status: 400, error: 'invalid_request', mentions: 'empty' },
      { name: 'wrong type', res: send({ user_id: 42, event_type: 'x' }), status: 400, error: 'validation_failed', mentions: 'user_id' },
      { name: 'missing field', res: send({ user_id: 'u1' }), status: 400, error: 'validation_failed', mentions: 'event_type' },
      { name: 'empty user_id', res: send({ user_id: '', event_type: 'x' }), status: 400, error: 'validation_failed', mentions: 'user_id' },
      { name: 'unknown field', res: send({ user_id: 'u1', event_type: 'x', usr: 1 }), status: 400, error: 'validation_failed', mentions: 'usr' },
      { name: 'bad timestamp', res: send({ user_id: 'u1', event_type: 'x', timestamp: 'yesterday' }), status: 400, error: 'validation_failed', mentions: 'timestamp' },
      { name: 'properties not an object', res: send({ user_id: 'u1', event_type: 'x', properties: [1] }), status: 400, error: 'validation_failed', mentions: 'properties' },
      { name: 'JSON array', res: send([{ user_id: 'u1', event_type: 'x' }]), status: 400, error: 'validation_failed', mentions: 'object' },
      { name: 'body too large', res: send({ user_id: 'u1', event_type: 'x', properties: { blob: 'x'.repeat(api.config.BODY_LIMIT_BYTES) } }), status: 413, error: 'payload_too_large', mentions: `${api.config.BODY_LIMIT_BYTES} bytes` },
      { name: 'not JSON', res: send('user_id=u1', { 'content-type': 'text/plain' }), status: 415, error: 'unsupported_media_type', mentions: 'application/json' },
    ];
    for (const c of cases) {
      const res = await c.res;
      expect({ case: c.name, status: res.status, error: res.body.error }).toEqual({ case: c.name, status: c.status, error: c.error });
      expect(res.body.message, c.name).toContain(c.mentions);
    }
    expect(await topicMessageCount(brokers, topic)).toBe(before);
  });

  it('gives the 101st request in a minute from one IP a 429 with Retry-After, and other IPs go on', async () => {
    const before = await topicMessageCount(brokers, topic);
    const ip = '127.0.0.9';
    const results = [];
    for (let batch = 0; batch < 10; batch++) {
      results.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) =>
        track(api.url, { user_id: `limited_${batch}_${i}`, event_type: 'page_view' }, { localAddress: ip })))));
    }
    expect(countByStatus(results)).toEqual({ 202: 100 });

    const limited = await track(api.url, { user_id: 'limited_101', event_type: 'page_view' }, { localAddress: ip });
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe('rate_limited');
    expect(limited.body.message).toContain('100 requests per minute');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);

    const otherIp = await track(api.url, { user_id: 'other_ip', event_type: 'page_view' }, { localAddress: '127.0.0.10' });
    expect(otherIp.status).toBe(202);
    expect(await topicMessageCount(brokers, topic)).toBe(before + 101);
  });
});
