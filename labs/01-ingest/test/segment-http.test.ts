/**
 * Segment's HTTP Tracking API (src/segment/) at the HTTP level, with raw requests: the write key,
 * what is refused and how (JSON 4xx with a reason, nothing stored), gzip, and nginx's /v1/ limits.
 * The API runs in this process on the shared broker; nginx fronts it for the edge cases.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startNginx, type NginxServer } from '../../../infra/nginx.js';
import { httpRequest } from '../../../shared/testing/http.js';
import { createTopic, readTopic, topicMessageCount, uniqueTopic } from '../../../shared/testing/kafka.js';
import { startInProcessApi, type InProcessApi } from './in-process-api.js';
import { loadConfig } from '../../../shared/config.js';
import { createKafka } from '../../../shared/kafka.js';
import { WriteKeyStore } from '../../07-security/src/write-keys.js';
import { createLimitStoreClient } from '../../07-security/src/redis-client.js';
import { startRedis } from '../../../infra/redis.js';
import { buildApp } from '../src/app.js';
import { EventPublisher, publisherOptionsFrom } from '../src/publisher.js';
import { postBytes } from './raw-http.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('lab01-segment-http');
let api: InProcessApi;
let nginx: NginxServer;

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  api = await startInProcessApi(brokers, { KAFKA_TOPIC: topic });
  nginx = await startNginx({ upstreams: [new URL(api.url).host] });
});
afterAll(async () => {
  await nginx?.process.stop();
  await api?.close();
});

const basic = (writeKey: string) => ({ authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` });
const auth = basic('crm-lab');
const post = (path: string, body: unknown, headers: Record<string, string> = auth, url = api.url) =>
  httpRequest({ url: `${url}${path}`, body, headers, localAddress: '127.0.8.1' });
const track = (n: number, extra: Record<string, unknown> = {}) => ({ type: 'track', event: 'Signed Up', userId: `seg_${n}`, messageId: `http-${n}`, ...extra });

describe('POST /v1/* (Segment\'s HTTP Tracking API)', () => {
  it('answers 401 JSON without a write key, with an unknown one or with the key as a Bearer token, and stores nothing', async () => {
    const before = await topicMessageCount(brokers, topic);
    for (const headers of [{}, basic('not-a-key'), { authorization: 'Bearer crm-lab' }]) {
      const res = await post('/v1/batch', { batch: [track(1)] }, headers);
      expect({ status: res.status, error: res.body.error, message: expect.any(String), auth: res.headers['www-authenticate'] })
        .toEqual({ status: 401, error: 'segment_unauthorized', message: res.body.message, auth: 'Basic realm="crm-event-lab"' });
    }
    expect(await topicMessageCount(brokers, topic)).toBe(before);
  });

  it('refuses a batch whole with 400 naming each refused message (no userId nor anonymousId, over 32 KB, a number a double cannot hold, a key written twice); nothing is stored', async () => {
    const before = await topicMessageCount(brokers, topic);
    const messages = [track(2), { type: 'track', event: 'x', messageId: 'no-user' }, track(3, { properties: { blob: 'x'.repeat(33 * 1024) } })].map((m) => JSON.stringify(m));
    // Written out: JSON.parse in this test would round it before it is sent.
    messages.push('{"type":"identify","userId":"u","traits":{"id":9007199254740993}}', '{"type":"track","event":"x","userId":"a","userId":"b"}');
    const res = await post('/v1/batch', `{"batch":[${messages.join(',')}]}`);
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error: 'validation_failed' });
    expect(res.body.rejected.map((r: { index: number; issues: { path: string }[] }) => [r.index, r.issues.map((i) => i.path)]))
      .toEqual([[1, ['userId']], [2, ['(message)']], [3, ['traits.id']], [4, ['(message)']]]);
    expect(res.body.message).toContain('so none is stored');
    // A second "batch" key: JSON.parse would keep the last and drop the first batch without a word.
    const twice = await post('/v1/batch', `{"batch":[${messages[0]}],"batch":[${messages[0]}]}`);
    expect({ status: twice.status, error: twice.body.error, path: twice.body.issues?.[0]?.path }).toEqual({ status: 400, error: 'validation_failed', path: '(body)' });
    expect(await topicMessageCount(brokers, topic)).toBe(before);
  });

  it('stores track and identify, gzipped or not, each under its messageId\'s event_id, and answers Segment\'s 200 {"success":true}', async () => {
    const messageId = 'node-next-1796622000000-7d1f6a9e-3c55-4e0b-9b8e-2f4a1c6d8e90';
    const batch = { batch: [track(4, { messageId, timestamp: '2026-12-07T04:57:30.000Z' })], sentAt: new Date(Date.now() - 62 * 60_000).toISOString(), writeKey: 'crm-lab' };
    const gz = await postBytes(`${api.url}/v1/batch`, gzipSync(Buffer.from(JSON.stringify(batch))), { headers: { ...auth, 'content-encoding': 'gzip' }, localAddress: '127.0.8.2' });
    expect({ status: gz.status, body: gz.body }).toEqual({ status: 200, body: { success: true } });
    const identify = await post('/v1/identify', { anonymousId: 'visitor-1', traits: { plan: 'pro' }, messageId: 'http-identify' });
    expect({ status: identify.status, body: identify.body }).toEqual({ status: 200, body: { success: true } });
    const single = await post('/v1/track', { event: 'Clicked', userId: 'seg_5', messageId: 'http-track' }, auth, nginx.url);
    expect(single.status).toBe(200);

    const records = new Map((await readTopic(brokers, topic)).map((r) => [r.value.segment?.message.messageId, r]));
    // UUIDv5(namespace, "crm-lab:" + messageId), computed with Python's uuid.uuid5 (segment-mapping.test.ts).
    const tracked = records.get(messageId)!;
    expect(tracked.value).toMatchObject({ event_id: '2c80c571-1892-52cd-b97f-0d945e7abdc2', user_id: 'seg_4', event_type: 'Signed Up', properties: {} });
    // The original timestamp stays in segment.message, the batch's sentAt beside it; the event's is corrected onto the server's clock.
    expect(tracked.value.segment).toMatchObject({ message: { timestamp: '2026-12-07T04:57:30.000Z' }, batchSentAt: batch.sentAt });
    const { receivedAt } = tracked.value.segment;
    expect(Date.parse(tracked.value.timestamp)).toBe(Date.parse(receivedAt) - (Date.parse(batch.sentAt) - Date.parse('2026-12-07T04:57:30.000Z')));
    expect(JSON.stringify(tracked.value)).not.toContain('writeKey');
    expect(tracked.key).toBe('seg_4');
    expect(records.get('http-identify')!.value).toMatchObject({ user_id: 'anon:visitor-1', event_type: 'identify', properties: { plan: 'pro' } });
    expect(records.get('http-track')!.value).toMatchObject({ user_id: 'seg_5', event_type: 'Clicked', client_ip: '127.0.8.1' });
  });

  it('refuses over 500 KB: 400 segment_too_large from the API once inflated, JSON 413 from nginx on the wire; 480 KB passes nginx', async () => {
    // 600 KB of JSON gzipped to a few KB: nginx lets it through, the API counts the inflated bytes.
    const inflated = { batch: [track(6, { properties: { blob: 'x'.repeat(600 * 1024) } })] };
    const bomb = await postBytes(`${nginx.url}/v1/batch`, gzipSync(Buffer.from(JSON.stringify(inflated))), { headers: { ...auth, 'content-encoding': 'gzip' }, localAddress: '127.0.8.3' });
    expect({ status: bomb.status, type: bomb.headers['content-type'], error: bomb.body.error }).toEqual({ status: 400, type: 'application/json; charset=utf-8', error: 'segment_too_large' });

    const wire = await post('/v1/batch', { batch: [track(7, { properties: { blob: 'x'.repeat(510 * 1024) } })] }, auth, nginx.url);
    expect({ status: wire.status, type: wire.headers['content-type'], error: wire.body.error, api: wire.headers['x-api-instance'] })
      .toEqual({ status: 413, type: 'application/json', error: 'payload_too_large', api: undefined });

    // 16 messages of 30 KB: 480 KB, what the SDK sends at most; each is under 32 KB, so all are stored.
    const before = await topicMessageCount(brokers, topic);
    const full = await post('/v1/batch', { batch: Array.from({ length: 16 }, (_, i) => ({ type: 'identify', userId: `big_${i}`, messageId: `big-${i}`, context: { pad: 'p'.repeat(30 * 1024) } })) }, auth, nginx.url);
    expect({ status: full.status, body: full.body }).toEqual({ status: 200, body: { success: true } });
    expect(await topicMessageCount(brokers, topic)).toBe(before + 16);
  });

  it('takes lab 07\'s write keys instead of the default: a live key\'s events carry its customer_id, a revoked key and the default are 401', async () => {
    const keys = new WriteKeyStore(join(mkdtempSync(join(tmpdir(), 'segment-keys-')), 'keys.db'));
    const config = loadConfig({ LOG_LEVEL: 'warn', KAFKA_TOPIC: topic, KAFKA_BROKERS: brokers.join(',') });
    const publisher = new EventPublisher(createKafka(config.kafkaBrokers, 'segment-http-test'), publisherOptionsFrom(config));
    await publisher.start();
    const app = await buildApp(config, publisher, undefined, { authenticate: (writeKey) => keys.customerOf(writeKey) });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const live = keys.create('acme');
      const revoked = keys.create('acme');
      keys.revoke(revoked.keyId);
      expect((await post('/v1/track', { event: 'Keyed', userId: 'seg_keyed', messageId: 'keyed-1' }, basic(live.writeKey), url)).status).toBe(200);
      for (const writeKey of [revoked.writeKey, 'crm-lab']) {
        const res = await post('/v1/track', { event: 'Keyed', userId: 'seg_keyed', messageId: 'keyed-2' }, basic(writeKey), url);
        expect({ status: res.status, error: res.body.error }).toEqual({ status: 401, error: 'segment_unauthorized' });
      }
      const stored = (await readTopic(brokers, topic)).filter((r) => r.value.user_id === 'seg_keyed').map((r) => r.value);
      expect(stored.map((v) => [v.segment.message.messageId, v.customer_id])).toEqual([['keyed-1', 'acme']]);
    } finally {
      await app.close();
      await publisher.stop();
      keys.close();
    }
  });

  it('applies lab 07\'s per-customer limit on /v1 as on /track: past its budget a customer gets 429, another customer does not', async () => {
    const redis = await startRedis();
    const client = createLimitStoreClient(redis.url, 1_000, { warn: () => {} });
    const config = loadConfig({ LOG_LEVEL: 'warn', KAFKA_TOPIC: topic, KAFKA_BROKERS: brokers.join(',') });
    const publisher = new EventPublisher(createKafka(config.kafkaBrokers, 'segment-http-test'), publisherOptionsFrom(config));
    await publisher.start();
    const app = await buildApp(config, publisher, undefined, {
      authenticate: (writeKey) => (writeKey.startsWith('key-of-') ? writeKey.slice('key-of-'.length) : undefined),
      customerRateLimit: { redis: client, max: 2, timeWindowMs: 600_000, skipOnError: false },
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const send = (customer: string, path: string, n: number) => post(path, path === '/v1/batch'
        ? { batch: [{ type: 'track', event: 'Limited', userId: `seg_limit_${customer}`, messageId: `limit-${customer}-${n}` }] }
        : { event: 'Limited', userId: `seg_limit_${customer}`, messageId: `limit-${customer}-${n}` }, basic(`key-of-${customer}`), url);
      const statuses = [];
      for (const [n, path] of ['/v1/track', '/v1/batch', '/v1/track', '/v1/batch'].entries()) statuses.push((await send('acme', path, n)).status);
      const over = await send('acme', '/v1/page', 9);
      expect({ statuses, over: over.status, error: over.body.error }).toEqual({ statuses: [200, 200, 429, 429], over: 429, error: 'rate_limited' });
      expect((await send('globex', '/v1/track', 0)).status).toBe(200);
    } finally {
      await app.close();
      await publisher.stop();
      client.disconnect();
      await redis.process.stop();
    }
  });
});
