import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { httpRequest, track } from '../../../shared/testing/http.js';
import { scanTopic } from '../../../shared/scan-topic.js';
import { createTopic, readTopic, topicMessageCount, uniqueTopic } from '../../../shared/testing/kafka.js';
import { startInProcessApi, type InProcessApi } from './in-process-api.js';
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

/** The stored record values of `user_id`, as the bytes' text (not parsed: parsing would round the numbers under test). */
async function storedTexts(user_id: string): Promise<string[]> {
  const texts: string[] = [];
  await scanTopic(brokers, topic, (_partition, message) => {
    const text = message.value?.toString() ?? '';
    if (text.includes(`"user_id":${JSON.stringify(user_id)}`)) texts.push(text);
  });
  return texts;
}
const pathsOf = (res: { body: { issues?: { path: string }[] } }) => res.body.issues?.map((i) => i.path);

describe('what the client sent is stored as sent, or refused', () => {
  it('refuses numbers a double cannot hold as written (integers beyond ±(2^53 − 1), exponents out of range, too many digits), naming each; the others are stored with the value sent', async () => {
    const before = await topicMessageCount(brokers, topic);
    const refused = await postBytes(`${api.url}/track`, Buffer.from('{"user_id":"numbers","event_type":"x","properties":'
      + '{"id":9007199254740993,"neg":-9007199254740992,"list":[1,1e400],"tiny":1e-400,"long":0.12345678901234567891,"big_float":12345678901234567890e0,"two_to_60":1.152921504606846976e18}}'),
    { localAddress: '127.0.5.6' });
    expect({ status: refused.status, error: refused.body.error }).toEqual({ status: 400, error: 'validation_failed' });
    expect(pathsOf(refused)).toEqual(['properties.id', 'properties.neg', 'properties.list.1', 'properties.tiny', 'properties.long', 'properties.big_float', 'properties.two_to_60']);
    // 2^60 is a double, but one written back as 1152921504606847000: another number than the one sent.
    expect(refused.body.message).toContain('properties.two_to_60: 1.152921504606846976e18 cannot be held exactly by a double (it would be stored as 1152921504606847000)');
    expect(refused.body.message).toContain('properties.id: 9007199254740993 is an integer beyond ±(2^53 − 1)');
    expect(refused.body.message).toContain('it would be stored as 9007199254740992');
    expect(refused.body.message).toContain('properties.list.1: 1e400 is out of the range of a double (it would be stored as null)');
    expect(await topicMessageCount(brokers, topic)).toBe(before);

    // At the edges, and respelt: kept by value (1.50 and 15e-1 are 1.5), never rounded.
    const kept = '{"max":9007199254740991,"min":-9007199254740991,"f":0.1,"sum":0.30000000000000004,"e":1e300,"smallest":5e-324,'
      + '"largest":1.7976931348623157e308,"e20":1e20,"respelt":[1.50,15e-1],"zero":-0.0}';
    const accepted = await postBytes(`${api.url}/track`, Buffer.from(`{"user_id":"numbers_kept","event_type":"x","properties":${kept}}`), { localAddress: '127.0.5.6' });
    expect(accepted.status).toBe(202);
    const [stored] = await storedTexts('numbers_kept');
    expect(stored).toContain('"properties":{"max":9007199254740991,"min":-9007199254740991,"f":0.1,"sum":0.30000000000000004,"e":1e+300,"smallest":5e-324,'
      + '"largest":1.7976931348623157e+308,"e20":100000000000000000000,"respelt":[1.5,1.5],"zero":0}');

    // In a batch, only the event holding the number is refused, by its index.
    const batch = await postBytes(`${api.url}/batch`,
      Buffer.from('[{"user_id":"numbers_batch","event_type":"x","properties":{"n":1}},{"user_id":"numbers_batch","event_type":"x","properties":{"n":[2,18446744073709551615]}}]'),
      { localAddress: '127.0.5.6' });
    expect(batch.status).toBe(202);
    expect(batch.body.accepted.map((a: { index: number }) => a.index)).toEqual([0]);
    expect(batch.body.rejected).toMatchObject([{ index: 1, issues: [{ path: 'properties.n.1', message: expect.stringContaining('18446744073709551615 is an integer beyond') }] }]);
  });

  it('refuses a key written twice in one object (JSON.parse would keep the last), naming the object and the key; in a batch only that event', async () => {
    const before = await topicMessageCount(brokers, topic);
    for (const [body, path, key] of [
      ['{"user_id":"dup_first","event_type":"x","user_id":"dup_second"}', '(body)', '"user_id"'],
      ['{"user_id":"dup_props","event_type":"x","properties":{"plan":"pro","plan":"free"}}', 'properties', '"plan"'],
      // An escape spells the same key: "\u0070lan" is "plan".
      ['{"user_id":"dup_escaped","event_type":"x","properties":{"plan":"pro","\\u0070lan":"free"}}', 'properties', '"plan"'],
    ] as const) {
      const res = await postBytes(`${api.url}/track`, Buffer.from(body), { localAddress: '127.0.5.6' });
      expect({ body, status: res.status, error: res.body.error, paths: pathsOf(res) }).toEqual({ body, status: 400, error: 'validation_failed', paths: [path] });
      expect(res.body.message).toContain(`${path}: ${key} is written twice in one object`);
    }
    expect(await topicMessageCount(brokers, topic)).toBe(before);

    // A value equal to a key, or the same key in two objects, is not a repeat: stored as sent.
    const kept = await postBytes(`${api.url}/track`,
      Buffer.from('{"user_id":"dup_none","event_type":"plan","properties":{"plan":"plan","a":{"plan":1},"b":[{"plan":2},{"plan":3}]}}'), { localAddress: '127.0.5.6' });
    expect(kept.status).toBe(202);
    const [stored] = await storedTexts('dup_none');
    expect(stored).toContain('"properties":{"plan":"plan","a":{"plan":1},"b":[{"plan":2},{"plan":3}]}');

    const batch = await postBytes(`${api.url}/batch`,
      Buffer.from('[{"user_id":"dup_batch","event_type":"x"},{"user_id":"dup_batch","event_type":"x","event_type":"y"}]'), { localAddress: '127.0.5.6' });
    expect(batch.status).toBe(202);
    expect(batch.body.accepted.map((a: { index: number }) => a.index)).toEqual([0]);
    expect(batch.body.rejected).toMatchObject([{ index: 1, issues: [{ path: '(body)', message: expect.stringContaining('"event_type" is written twice') }] }]);
  });

  it('refuses bidirectional formatting characters in user_id and event_type, naming the field; other Unicode is stored byte for byte, not normalised', async () => {
    for (const [field, value] of [['user_id', 'admin\u202e\u2066txt.exe'], ['user_id', 'u\u200f42'], ['event_type', 'log\u2067in']] as const) {
      const res = await track(api.url, { user_id: 'u', event_type: 'x', [field]: value }, { localAddress: '127.0.5.7' });
      expect({ value, status: res.status, paths: pathsOf(res) }).toEqual({ value, status: 400, paths: [field] });
      expect(res.body.message).toContain('bidirectional formatting characters');
    }
    // é as one code point (NFC) and as e + combining acute (NFD): two ids, each kept as sent.
    for (const user_id of ['ren\u00e9', 'rene\u0301']) {
      expect((await track(api.url, { user_id, event_type: 'x' }, { localAddress: '127.0.5.7' })).status).toBe(202);
      const texts = await storedTexts(user_id);
      expect({ user_id, copies: texts.length }).toEqual({ user_id, copies: 1 });
      expect(Buffer.from(texts[0]!).includes(Buffer.from(`"user_id":"${user_id}"`))).toBe(true);
    }
  });

  it('refuses a declared charset other than UTF-8 with 415 (the bytes would be read as UTF-8 all the same); charset=utf-8 and none are taken', async () => {
    // A Latin-1 client's "Ã©" is the bytes C3 A9: valid UTF-8 for "é". Read as UTF-8, it was stored as é with a 202.
    const body = Buffer.from('{"user_id":"charset_\u00c3\u00a9","event_type":"x"}', 'latin1');
    expect(body.toString('utf8')).toBe('{"user_id":"charset_\u00e9","event_type":"x"}');
    for (const contentType of ['application/json; charset=iso-8859-1', 'application/json;charset="windows-1252"', 'application/json; charset=utf-16']) {
      const res = await postBytes(`${api.url}/track`, body, { localAddress: '127.0.5.8', headers: { 'content-type': contentType } });
      expect({ contentType, status: res.status, error: res.body.error }).toEqual({ contentType, status: 415, error: 'unsupported_media_type' });
      expect(res.body.message).toContain('is not supported: JSON is read as UTF-8');
    }
    for (const contentType of ['application/json', 'application/json; charset=utf-8', 'application/json; Charset="UTF-8"']) {
      const res = await postBytes(`${api.url}/track`, body, { localAddress: '127.0.5.8', headers: { 'content-type': contentType } });
      expect({ contentType, status: res.status }).toEqual({ contentType, status: 202 });
    }
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
