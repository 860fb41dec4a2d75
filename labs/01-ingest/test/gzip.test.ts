import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApiReplica, type ApiReplica } from '../../../infra/api.js';
import { startNginx, type NginxServer } from '../../../infra/nginx.js';
import { httpRequest } from '../../../shared/testing/http.js';
import { createTopic, readTopic, topicMessageCount, uniqueTopic } from '../../../shared/testing/kafka.js';
import { startInProcessApi, type InProcessApi } from './in-process-api.js';
import { postBytes } from './raw-http.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('lab01-gzip');
let api: InProcessApi;
let replica: ApiReplica;
let nginx: NginxServer;

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  api = await startInProcessApi(brokers, { KAFKA_TOPIC: topic });
  replica = await startApiReplica({ id: 'api-1', brokers, env: { KAFKA_TOPIC: topic } });
  nginx = await startNginx({ upstreams: [`127.0.0.1:${replica.port}`] });
});
afterAll(async () => {
  await nginx?.process.stop();
  await replica?.process.stop();
  await api?.close();
});

const gzipped = (value: unknown) => gzipSync(Buffer.from(JSON.stringify(value)));
/** 10 MB of zeros inside a JSON string: about 10 KB once gzipped. */
const bomb = () => gzipSync(Buffer.concat([Buffer.from('{"user_id":"bomb","event_type":"x","properties":{"z":"'), Buffer.alloc(10 * 1024 * 1024, '0'), Buffer.from('"}}')]), { level: 9 });
const gzipHeaders = { 'content-encoding': 'gzip' };

describe('Content-Encoding: gzip request bodies', () => {
  for (const via of ['the API directly', 'nginx'] as const) {
    it(`accepts a gzipped event on /track and a gzipped batch on /batch, through ${via}`, async () => {
      const url = via === 'nginx' ? nginx.url : api.url;
      const event = { user_id: `gz_${via.length}`, event_type: 'page_view', properties: { page: '/gzip' } };
      const one = await postBytes(`${url}/track`, gzipped(event), { headers: gzipHeaders, localAddress: '127.0.7.1' });
      expect(one.status).toBe(202);
      const many = await postBytes(`${url}/batch`, gzipped([event, { ...event, event_type: 'click' }]), { headers: gzipHeaders, localAddress: '127.0.7.1' });
      expect(many.status).toBe(202);
      const stored = new Map((await readTopic(brokers, topic)).map((r) => [r.value.event_id, r.value]));
      expect(stored.get(one.body.event_id)).toMatchObject(event);
      expect(many.body.accepted.map((a: { event_id: string }) => stored.get(a.event_id)?.event_type)).toEqual(['page_view', 'click']);
    });

    it(`answers a gzip bomb (10 MB of zeros in ${(bomb().length / 1024).toFixed(0)} KB) with JSON 413 on /track and /batch, through ${via}`, async () => {
      const url = via === 'nginx' ? nginx.url : api.url;
      const before = await topicMessageCount(brokers, topic);
      const body = bomb();
      for (const path of ['/track', '/batch']) {
        const res = await postBytes(`${url}${path}`, body, { headers: gzipHeaders, localAddress: '127.0.7.2' });
        expect({ path, status: res.status, error: res.body.error }).toEqual({ path, status: 413, error: 'payload_too_large' });
        expect(res.body.message).toContain('after gzip decompression');
        expect(res.headers['x-api-instance']).toBeDefined(); // the API cut it off, nginx let the 10 KB through
      }
      expect(await topicMessageCount(brokers, topic)).toBe(before);
      expect((await httpRequest({ url: `${via === 'nginx' ? replica.url : api.url}/health` })).status).toBe(200);
    });
  }

  it('inflates no more than the limit: 40 concurrent bombs leave the API\'s memory where it was', async () => {
    const body = bomb();
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const results = await Promise.all(Array.from({ length: 40 }, () =>
      postBytes(`${api.url}/batch`, body, { headers: gzipHeaders, localAddress: '127.0.7.3' })));
    const grownMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    console.log(`40 concurrent 10 MB gzip bombs (${(body.length / 1024).toFixed(0)} KB each) on /batch: RSS grew ${grownMb.toFixed(0)} MB`);
    expect(results.map((r) => r.status)).toEqual(Array(40).fill(413));
    // Inflated in full they would be 400 MB; cut at 512 KiB each, at most 20 MB.
    expect(grownMb).toBeLessThan(150);
  });

  it('refuses a corrupt gzip body with 400 and an unknown encoding with 415, as JSON', async () => {
    const corrupt = gzipped({ user_id: 'u', event_type: 'x' });
    corrupt[corrupt.length - 6]! ^= 0xff; // the CRC no longer matches
    const bad = await postBytes(`${api.url}/track`, corrupt, { headers: gzipHeaders, localAddress: '127.0.7.4' });
    expect({ status: bad.status, error: bad.body.error }).toEqual({ status: 400, error: 'invalid_request' });
    expect(bad.body.message).toContain('not valid gzip');
    const notGzip = await postBytes(`${api.url}/track`, Buffer.from('{"user_id":"u","event_type":"x"}'), { headers: gzipHeaders, localAddress: '127.0.7.4' });
    expect({ status: notGzip.status, error: notGzip.body.error }).toEqual({ status: 400, error: 'invalid_request' });
    const brotli = await postBytes(`${api.url}/track`, corrupt, { headers: { 'content-encoding': 'br' }, localAddress: '127.0.7.4' });
    expect({ status: brotli.status, error: brotli.body.error }).toEqual({ status: 415, error: 'unsupported_content_encoding' });
  });
});
