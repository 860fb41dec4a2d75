import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../infra/processes.js';
import { fullJitterDelay, parseRetryAfter, TrackClient } from './retry.js';

type Reply = (res: ServerResponse, body: any) => void;

/** A tiny /track server answering the scripted replies in order (the last one repeats). */
async function scriptedServer(replies: Reply[]): Promise<{ url: string; bodies: any[]; server: Server }> {
  const bodies: any[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      bodies.push(body);
      replies[Math.min(bodies.length - 1, replies.length - 1)]!(res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, server };
}

const json = (status: number, headers: Record<string, string> = {}): Reply => (res, body) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(status === 202 ? { status: 'accepted', event_id: body.event_id } : { error: `status_${status}` }));
};
const hangUp: Reply = (res) => res.socket?.destroy();

const servers: Server[] = [];
const clients: TrackClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => { s.closeAllConnections(); s.close(resolve); })));
});

/** A client whose waits are recorded instead of slept. */
function client(url: string, opts: ConstructorParameters<typeof TrackClient>[1] = {}) {
  const waits: number[] = [];
  const c = new TrackClient(url, { random: () => 0.5, sleep: async (ms) => { waits.push(ms); }, ...opts });
  clients.push(c);
  return { c, waits };
}

const event = { user_id: 'u1', event_type: 'page_view' };

describe('TrackClient (backoff with full jitter, same event_id on every retry)', () => {
  it('retries 503s and a dropped connection, re-sending the same event_id, until the 202', async () => {
    const { url, bodies } = await scriptedServer([json(503, { 'retry-after': '0' }), hangUp, json(503), json(202)]);
    const { c, waits } = client(url, { baseDelayMs: 100, maxDelayMs: 1_000 });
    const d = await c.send(event);
    expect(d.delivered).toBe(true);
    expect(d.attempts.map((a) => a.status ?? a.error)).toEqual([503, 'ECONNRESET', 503, 202]);
    expect(bodies).toHaveLength(4);
    expect(new Set(bodies.map((b) => b.event_id))).toEqual(new Set([d.event_id]));
    expect(d.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // random() = 0.5: half of 100, 200, 400 ms.
    expect(waits).toEqual([50, 100, 200]);
  });

  it('keeps an event_id the caller supplied', async () => {
    const { url, bodies } = await scriptedServer([json(202)]);
    const event_id = '0b6f1c1e-5d0a-4f5e-9a51-6a4c2f1b7e21';
    const d = await client(url).c.send({ ...event, event_id });
    expect(d.event_id).toBe(event_id);
    expect(bodies[0].event_id).toBe(event_id);
  });

  it('waits at least Retry-After on 429 and 503', async () => {
    const { url } = await scriptedServer([json(429, { 'retry-after': '2' }), json(503, { 'retry-after': '1' }), json(202)]);
    const { c, waits } = client(url, { baseDelayMs: 100 });
    expect((await c.send(event)).delivered).toBe(true);
    expect(waits).toEqual([2_000, 1_000]);
  });

  it('gives up at once when Retry-After is longer than it is willing to wait', async () => {
    const { url, bodies } = await scriptedServer([json(429, { 'retry-after': '60' })]);
    const d = await client(url, { maxRetryAfterMs: 10_000 }).c.send(event);
    expect(d).toMatchObject({ delivered: false, status: 429 });
    expect(d.gaveUp).toContain('Retry-After');
    expect(bodies).toHaveLength(1);
  });

  it('never retries other 4xx, nor (by default) a 502', async () => {
    for (const status of [400, 413, 415, 502]) {
      const { url, bodies } = await scriptedServer([json(status), json(202)]);
      const d = await client(url).c.send(event);
      expect({ status, delivered: d.delivered, attempts: bodies.length }).toEqual({ status, delivered: false, attempts: 1 });
    }
  });

  it('stops after maxAttempts, also on refused connections', async () => {
    const { url, bodies } = await scriptedServer([json(503)]);
    const d = await client(url, { maxAttempts: 3 }).c.send(event);
    expect(d).toMatchObject({ delivered: false, status: 503 });
    expect(bodies).toHaveLength(3);

    const closedPort = await freePort();
    const refused = await client(`http://127.0.0.1:${closedPort}`, { maxAttempts: 4 }).c.send(event);
    expect(refused.delivered).toBe(false);
    expect(refused.attempts.map((a) => a.error)).toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
  });
});

describe('backoff arithmetic', () => {
  it('full jitter stays in [0, min(max, base * 2^(n-1)))', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => fullJitterDelay(n, 100, 1_000, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(fullJitterDelay(3, 100, 1_000, () => 0)).toBe(0);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-25T10:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 10:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
