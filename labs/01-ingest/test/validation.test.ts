import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { httpRequest, track } from '../../../shared/testing/http.js';
import { createTopic, readTopic, topicMessageCount, uniqueTopic } from '../../../shared/testing/kafka.js';
import { startInProcessApi, type InProcessApi } from '../../../shared/testing/lab01.js';
import { postBytes } from './raw-http.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('lab01-validation');
let api: InProcessApi;

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  api = await startInProcessApi(brokers, { KAFKA_TOPIC: topic });
});
afterAll(() => api?.close());

const minutesFromNow = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
/** `[[[…]]]` nested `depth` times: 2 bytes a level. */
const nestedArrays = (depth: number) => JSON.parse('['.repeat(depth) + ']'.repeat(depth));

async function produceFailures(): Promise<number> {
  const text = (await httpRequest({ url: `${api.url}/metrics` })).body as string;
  return text.split('\n').filter((l) => l.startsWith('kafka_produce_failures_total')).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describe('POST /track refuses bad input with a 400 naming the field, never a 5xx', () => {
  it('answers a 5,000-deep properties (10 KB) with 400, not 503, and Kafka stays ready', async () => {
    // Written out: JSON.stringify itself overflows the stack on it (as the publisher did).
    const body = `{"user_id":"deep","event_type":"x","properties":{"a":${'['.repeat(5_000)}${']'.repeat(5_000)}}}`;
    expect(Buffer.byteLength(body)).toBeLessThan(api.config.BODY_LIMIT_BYTES);
    const failuresBefore = await produceFailures();
    const res = await httpRequest({ url: `${api.url}/track`, body, localAddress: '127.0.5.1' });
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error: 'validation_failed' });
    expect(res.body.message).toContain('properties');
    expect(res.body.message).toContain('nested more than 10 levels');
    expect(await produceFailures()).toBe(failuresBefore);
    expect((await httpRequest({ url: `${api.url}/ready` })).status).toBe(200);
  });

  it('caps properties at 10 levels and 8 KiB', async () => {
    const send = (properties: unknown) => track(api.url, { user_id: 'props', event_type: 'x', properties }, { localAddress: '127.0.5.2' });
    expect((await send({ a: nestedArrays(9) })).status).toBe(202); // 10 levels: the object holding a, and 9 arrays
    const tooDeep = await send({ a: nestedArrays(10) });
    expect({ status: tooDeep.status, message: tooDeep.body.message }).toEqual({ status: 400, message: expect.stringContaining('properties') });
    expect((await send({ blob: 'x'.repeat(8 * 1024 - 20) })).status).toBe(202);
    const tooBig = await send({ blob: 'x'.repeat(9 * 1024) });
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.message).toMatch(/properties: \d+ bytes as JSON; at most 8192/);
  });

  it('accepts timestamps with offsets and up to 5 minutes of clock skew, refuses later ones', async () => {
    const send = (timestamp: string) => track(api.url, { user_id: 'clock', event_type: 'x', timestamp }, { localAddress: '127.0.5.3' });
    for (const ok of ['2026-01-15T10:00+02:00', '2026-01-15T10:00:00.123-05:30', minutesFromNow(-60), minutesFromNow(4)]) {
      expect({ timestamp: ok, status: (await send(ok)).status }).toEqual({ timestamp: ok, status: 202 });
    }
    for (const bad of [minutesFromNow(6), minutesFromNow(60 * 24 * 365), '2026-02-30T10:00:00Z', '2026-01-15T10:00:00', '2026-01-15T10:00:00+02']) {
      const res = await send(bad);
      expect({ timestamp: bad, status: res.status, error: res.body.error }).toEqual({ timestamp: bad, status: 400, error: 'validation_failed' });
      expect(res.body.issues.map((i: { path: string }) => i.path)).toEqual(['timestamp']);
    }
    expect((await send(minutesFromNow(6))).body.message).toContain('in the future; at most 300 s of clock skew');
  });

  it('refuses the nil UUID as event_id, control characters in user_id and invalid UTF-8, naming the field', async () => {
    const before = await topicMessageCount(brokers, topic);
    const cases = [
      { name: 'nil event_id', body: Buffer.from(JSON.stringify({ user_id: 'u', event_type: 'x', event_id: '00000000-0000-0000-0000-000000000000' })), field: 'event_id' },
      { name: 'NUL in user_id', body: Buffer.from(JSON.stringify({ user_id: 'u\u0000admin', event_type: 'x' })), field: 'user_id' },
      { name: 'newline in event_type', body: Buffer.from(JSON.stringify({ user_id: 'u', event_type: 'x\ny' })), field: 'event_type' },
      {
        name: 'invalid UTF-8 in user_id',
        body: Buffer.concat([Buffer.from('{"user_id":"u'), Buffer.from([0xc3, 0x28]), Buffer.from('","event_type":"x"}')]),
        field: 'user_id',
      },
      {
        name: 'invalid UTF-8 in a property',
        body: Buffer.concat([Buffer.from('{"user_id":"u","event_type":"x","properties":{"page":"/'), Buffer.from([0xff]), Buffer.from('"}}')]),
        field: 'properties.page',
      },
    ];
    for (const c of cases) {
      const res = await postBytes(`${api.url}/track`, c.body, { localAddress: '127.0.5.4' });
      expect({ case: c.name, status: res.status, error: res.body.error }).toEqual({ case: c.name, status: 400, error: 'validation_failed' });
      expect({ case: c.name, paths: res.body.issues.map((i: { path: string }) => i.path) }).toEqual({ case: c.name, paths: [c.field] });
    }
    expect(await topicMessageCount(brokers, topic)).toBe(before);
    // A correctly encoded U+FFFD is text like any other.
    expect((await track(api.url, { user_id: 'u\uFFFD', event_type: 'x' }, { localAddress: '127.0.5.4' })).status).toBe(202);
  });
});

describe('what only the trusted proxy may say', () => {
  it('ignores X-Request-Id and X-Forwarded-For from a direct caller, even one on 127.0.0.1', async () => {
    const edgeLikeId = '0123456789abcdef0123456789abcdef';
    const results = [];
    for (const localAddress of ['127.0.0.1', '127.0.5.5']) {
      const res = await track(api.url, { user_id: 'direct', event_type: 'x' },
        { localAddress, headers: { 'x-request-id': edgeLikeId, 'x-forwarded-for': '203.0.113.9' } });
      expect(res.status).toBe(202);
      results.push({ localAddress, event_id: res.body.event_id as string });
    }
    const stored = new Map((await readTopic(brokers, topic)).map((r) => [r.value.event_id, r.value]));
    for (const { localAddress, event_id } of results) {
      const record = stored.get(event_id);
      expect({ localAddress, client_ip: record?.client_ip }).toEqual({ localAddress, client_ip: localAddress });
      expect(record?.request_id).not.toBe(edgeLikeId);
      expect(event_id).not.toBe('01234567-89ab-4def-8123-456789abcdef'); // what eventIdFromEdgeRequestId would make of it
    }
  });
});
