/**
 * The paced load against a local HTTP server: the source address of each request, every outcome
 * reported once (answers and network errors), and `stop` ending the load early.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pacedLoad, type PacedAnswer } from './paced-load.js';

const seen: string[] = [];
let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const n = seen.push(req.socket.remoteAddress ?? '?');
    req.resume();
    req.on('end', () => {
      // Every fifth request's connection is destroyed: a network error, not an answer.
      if (n % 5 === 0) return req.socket.destroy();
      res.writeHead(n % 2 ? 202 : 429, { 'x-n': String(n) }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('pacedLoad', () => {
  it('sends from the given source addresses and reports every outcome once, answer or network error', async () => {
    seen.length = 0;
    const answers = new Map<number, PacedAnswer>();
    const result = await pacedLoad({ url, path: '/track', rate: 100, durationS: 0.2, connections: 5,
      localAddress: (i) => `127.0.0.${2 + (i % 2)}`, body: (i) => JSON.stringify({ i }),
      onAnswer: (i, a) => {
        expect(answers.has(i)).toBe(false);
        answers.set(i, a);
      } });
    expect(result.sent).toBe(20);
    expect(answers.size).toBe(20);
    expect(seen.filter((a) => a.endsWith('127.0.0.2'))).toHaveLength(10);
    expect(seen.filter((a) => a.endsWith('127.0.0.3'))).toHaveLength(10);
    const outcomes = [...answers.values()];
    expect(outcomes.filter((a) => a.error !== undefined).length).toBe(4);
    expect(outcomes.filter((a) => a.status === 202 || a.status === 429).length).toBe(16);
    expect(outcomes.every((a) => a.status === undefined || a.headers?.['x-n'] !== undefined)).toBe(true);
  });

  it('stops sending once stop() is true, and still waits for the requests in flight', async () => {
    let answered = 0;
    const result = await pacedLoad({ url, path: '/track', rate: 50, durationS: 60, connections: 5,
      stop: () => answered >= 5, body: () => '{}', onAnswer: () => answered++ });
    expect(result.sent).toBeGreaterThanOrEqual(5);
    expect(result.sent).toBeLessThan(60 * 50);
    expect(answered).toBe(result.sent);
  });
});
