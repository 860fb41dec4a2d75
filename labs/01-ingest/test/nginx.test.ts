import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureServerCert } from '../../../infra/tls.js';
import { startApiReplica, type ApiReplica } from '../../../infra/api.js';
import { startNginx, type NginxServer } from '../../../infra/nginx.js';
import { EnrichedEvent } from '../../../shared/schema.js';
import { eventIdFromEdgeRequestId } from '../src/app.js';
import { countByStatus, httpRequest, track, type HttpResult } from '../../../shared/testing/http.js';
import { freePort } from '../../../infra/processes.js';
import { createTopic, readTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { API_ERRORS } from '../src/errors.js';
import { sendRawRequest } from './raw-http.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('lab01-nginx');
let replicas: ApiReplica[] = [];
let nginx: NginxServer;

beforeAll(async () => {
  await createTopic(brokers, topic, 2);
  replicas = await Promise.all(['api-1', 'api-2', 'api-3'].map((id) =>
    startApiReplica({ id, brokers, env: { KAFKA_TOPIC: topic } })));
  nginx = await startNginx({ upstreams: replicas.map((r) => `127.0.0.1:${r.port}`), rate: 20, burst: 50 });
});
afterAll(async () => {
  await nginx?.process.stop();
  await Promise.all(replicas.map((r) => r.process.stop()));
});

/** Every event that got a 202 is stored in Kafka exactly once. */
async function expectAllAckedStored(results: HttpResult[]) {
  const acked = results.filter((r) => r.status === 202).map((r) => r.body.event_id as string);
  const stored = new Map<string, number>();
  for (const r of await readTopic(brokers, topic)) stored.set(r.value.event_id, (stored.get(r.value.event_id) ?? 0) + 1);
  expect(acked.filter((id) => stored.get(id) !== 1)).toEqual([]);
}

describe('nginx in front of 3 API replicas', () => {
  it('round-robins requests over every replica', async () => {
    const results: HttpResult[] = [];
    for (let i = 0; i < 30; i++) {
      results.push(await track(nginx.url, { user_id: `rr_${i}`, event_type: 'page_view' }, { localAddress: '127.0.1.1' }));
    }
    expect(countByStatus(results)).toEqual({ 202: 30 });
    const perReplica = countByStatus(results.map((r) => ({ status: Number(String(r.headers['x-api-instance']).slice(4)) })));
    console.log('requests per replica (api-N: count):', perReplica);
    expect(Object.keys(perReplica).sort()).toEqual(['1', '2', '3']);
    // Without a client event_id, the event's id comes from nginx's request id: a retry by nginx keeps it.
    for (const r of results) {
      expect(r.body.event_id).toBe(eventIdFromEdgeRequestId(r.headers['x-request-id']));
      expect(EnrichedEvent.shape.event_id.safeParse(r.body.event_id).success).toBe(true);
    }
    await expectAllAckedStored(results);
  });

  it('records the client IP nginx saw, whatever X-Forwarded-For the client sends', async () => {
    const honest = await track(nginx.url, { user_id: 'ip_honest', event_type: 'page_view' }, { localAddress: '127.0.1.4' });
    const forged = await track(nginx.url, { user_id: 'ip_forged', event_type: 'page_view' },
      { localAddress: '127.0.1.4', headers: { 'x-forwarded-for': '203.0.113.9' } });
    // A client on 127.0.0.1 is not nginx either: nginx connects from its own 127.0.0.254.
    const local = await track(nginx.url, { user_id: 'ip_local', event_type: 'page_view' },
      { localAddress: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect([honest.status, forged.status, local.status]).toEqual([202, 202, 202]);
    const stored = new Map((await readTopic(brokers, topic)).map((r) => [r.value.event_id, r.value.client_ip]));
    // nginx appends the address it saw; the API believes only the hop added by its trusted proxy.
    expect(stored.get(honest.body.event_id)).toBe('127.0.1.4');
    expect(stored.get(forged.body.event_id)).toBe('127.0.1.4');
    expect(stored.get(local.body.event_id)).toBe('127.0.0.1');
  });

  it('answers a burst of 80 requests from one IP with 429s for what exceeds rate 20/s + burst 50', async () => {
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 80 }, (_, i) =>
      track(nginx.url, { user_id: `burst_${i}`, event_type: 'click' }, { localAddress: '127.0.1.2' })));
    const elapsedS = (performance.now() - started) / 1000;
    const counts = countByStatus(results);
    console.log(`burst of 80 in ${elapsedS.toFixed(2)} s (limit rate=${nginx.rate}r/s burst=${nginx.burst} nodelay):`, counts);

    expect((counts[202] ?? 0) + (counts[429] ?? 0)).toBe(80);
    // nodelay serves the burst at once; beyond it only the refill of `rate` per second gets through.
    expect(counts[202]).toBeGreaterThanOrEqual(nginx.burst);
    expect(counts[202]).toBeLessThanOrEqual(1 + nginx.burst + Math.ceil(nginx.rate * elapsedS));
    // The 429s come from nginx itself: no replica saw them.
    const rejected = results.filter((r) => r.status === 429);
    expect(rejected.every((r) => r.headers['x-api-instance'] === undefined)).toBe(true);
    // nginx's own 429 is JSON like the API's, with Retry-After.
    for (const r of rejected) {
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.body).toEqual({ error: 'rate_limited', message: expect.stringContaining(`${nginx.rate} requests/s per client IP`) });
      expect(r.headers['retry-after']).toBe('1');
    }
    await expectAllAckedStored(results);
  });

  it('answers a body over 64 KiB on /track itself, as JSON 413', async () => {
    const res = await track(nginx.url, { user_id: 'big', event_type: 'x', properties: { blob: 'x'.repeat(70 * 1024) } }, { localAddress: '127.0.1.5' });
    expect({ status: res.status, type: res.headers['content-type'], error: res.body.error }).toEqual({ status: 413, type: 'application/json', error: 'payload_too_large' });
    expect(res.body.message).toContain('64 KiB for /track');
    expect(res.headers['x-api-instance']).toBeUndefined();
  });

  it('answers what it refuses while reading a request as JSON with its status, never HTML: a 10 KB URI, a 40 KB header, a bad request line', async () => {
    const host = new URL(nginx.url).host;
    const cases: { name: string; request: string; status: number; error: string }[] = [
      { name: '10 KB URI', request: `GET /track?${'q'.repeat(10_000)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`, status: 414, error: 'uri_too_long' },
      // nginx's own 494, which `error_page 400` does not catch: by default an HTML "400 Request Header Or Cookie Too Large".
      { name: '40 KB header', request: `POST /track HTTP/1.1\r\nHost: ${host}\r\nX-Padding: ${'h'.repeat(40_000)}\r\nContent-Length: 2\r\n\r\n{}`, status: 431, error: 'request_headers_too_large' },
      // No URI yet: a named error location cannot serve it (nginx answered an HTML 500 for this before).
      { name: 'malformed request line', request: 'GARBAGE\r\n\r\n', status: 400, error: 'invalid_request' },
      { name: 'no Host header', request: 'GET /health HTTP/1.1\r\n\r\n', status: 400, error: 'invalid_request' },
      { name: 'TRACE', request: `TRACE /track HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, status: 405, error: 'method_not_allowed' },
      { name: 'unknown Transfer-Encoding', request: `POST /track HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n`, status: 501, error: 'not_implemented' },
      { name: 'HTTP/2.0 in clear text', request: `GET /health HTTP/2.0\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, status: 505, error: 'http_version_not_supported' },
    ];
    for (const c of cases) {
      const res = await sendRawRequest(nginx.url, c.request, '127.0.1.8');
      expect({ case: c.name, status: res.status, type: res.headers['content-type'], body: res.body })
        .toEqual({ case: c.name, status: c.status, type: 'application/json', body: { error: c.error, message: expect.any(String) } });
      expect(API_ERRORS[c.error as keyof typeof API_ERRORS].status, c.name).toBe(c.status);
      expect(res.headers['x-api-instance'], c.name).toBeUndefined();
    }
  });

  it('answers plain HTTP sent to its HTTPS port (lab 07\'s TLS edge) as JSON 403, not nginx\'s HTML 400', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-lab01-tls-'));
    const tlsEdge = await startNginx({ upstreams: [`127.0.0.1:${await freePort()}`], tls: ensureServerCert(dir, 'nginx') });
    try {
      const res = await httpRequest({ url: `http://127.0.0.1:${tlsEdge.port}/track`, localAddress: '127.0.1.9' });
      expect({ status: res.status, type: res.headers['content-type'], error: res.body.error }).toEqual({ status: 403, type: 'application/json', error: 'https_required' });
    } finally {
      await tlsEdge.process.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves /metrics and /ready only on the replicas\' own ports: the edge answers JSON 404', async () => {
    for (const path of ['/metrics', '/ready', '/metrics?x=1', '/ready/', '//metrics', '/', '/anything']) {
      const res = await httpRequest({ url: `${nginx.url}${path}`, localAddress: '127.0.1.6' });
      expect({ path, status: res.status, type: res.headers['content-type'], error: res.body.error })
        .toEqual({ path, status: 404, type: 'application/json', error: 'not_found' });
      expect(res.headers['x-api-instance']).toBeUndefined();
    }
    expect((await httpRequest({ url: `${nginx.url}/health` })).status).toBe(200); // liveness stays public
    expect((await httpRequest({ url: `${replicas[0]!.url}/ready` })).status).toBe(200);
    expect((await httpRequest({ url: `${replicas[0]!.url}/metrics` })).body).toContain('http_requests_total');
  });

  it('answers 502 as JSON with Retry-After when no replica answers', async () => {
    const deadPort = await freePort();
    const lonely = await startNginx({ upstreams: [`127.0.0.1:${deadPort}`] });
    try {
      const res = await track(lonely.url, { user_id: 'nobody_home', event_type: 'x' }, { localAddress: '127.0.1.7' });
      expect({ status: res.status, type: res.headers['content-type'], error: res.body.error }).toEqual({ status: 502, type: 'application/json', error: 'bad_gateway' });
      expect(res.headers['retry-after']).toBe('1');
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      await lonely.process.stop();
    }
  });

  it('skips a replica that is down and keeps accepting every request', async () => {
    await replicas[2]!.process.kill();
    const results: HttpResult[] = [];
    for (let i = 0; i < 20; i++) {
      results.push(await track(nginx.url, { user_id: `failover_${i}`, event_type: 'page_view' }, { localAddress: '127.0.1.3' }));
    }
    expect(countByStatus(results)).toEqual({ 202: 20 });
    expect(results.filter((r) => r.headers['x-api-instance'] === 'api-3')).toEqual([]);
    await expectAllAckedStored(results);
  });
});
