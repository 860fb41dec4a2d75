/**
 * An evenly paced, open-loop HTTP load: request i is due at start + i / rate, whatever the
 * answers to earlier requests (a slow server gets no pause). Latency runs from the moment a
 * request was due, so time spent waiting for a free connection counts (no coordinated omission).
 * autocannon's `overallRate` instead sends each connection's quota back to back at the start of
 * every second, which measures bursts, not a steady rate.
 */
import http from 'node:http';
import https from 'node:https';

export interface PacedLoadOptions {
  url: string;
  path: string;
  /** Requests per second. */
  rate: number;
  durationS: number;
  /** Keep-alive connections at most (requests beyond them wait for one). */
  connections: number;
  body: (i: number) => string;
  headers?: Record<string, string>;
  /** Called with each answer: its index, status and body. */
  onResponse?: (i: number, status: number, body: string) => void;
  timeoutMs?: number;
  /** For an https:// url: the CA to trust (lab 07's local CA). */
  ca?: string | Buffer;
  /** false: a new connection (and TLS handshake) per request. Default true. */
  keepAlive?: boolean;
}

export interface PacedLoadResult {
  sent: number;
  /** Answers by status code, failures by error code. */
  statuses: Record<string, number>;
  ok: number;
  errors: number;
  /** ms from due to answered, of every 2xx. */
  latencies: number[];
  /** Answers per second, from the first request due to the last answer. */
  achievedRate: number;
  elapsedS: number;
}

export async function pacedLoad(o: PacedLoadOptions): Promise<PacedLoadResult> {
  const target = new URL(o.url);
  const tls = target.protocol === 'https:';
  const keepAlive = o.keepAlive ?? true;
  const agent = tls
    ? new https.Agent({ keepAlive, maxSockets: o.connections, ca: o.ca, ...(keepAlive ? {} : { maxCachedSessions: 0 }) })
    : new http.Agent({ keepAlive, maxSockets: o.connections });
  const request = tls ? https.request : http.request;
  const total = Math.round(o.rate * o.durationS);
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  let answered = 0;
  let lastAnswerAt = 0;
  const start = performance.now();

  const done = new Promise<void>((resolve) => {
    const finish = () => {
      answered++;
      lastAnswerAt = performance.now();
      if (answered === total) resolve();
    };
    const fire = (i: number, dueAt: number) => {
      const body = o.body(i);
      const req = request({
        agent, host: target.hostname, port: target.port, path: o.path, method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...o.headers },
        timeout: o.timeoutMs ?? 30_000,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status >= 200 && status < 300) {
            ok++;
            latencies.push(performance.now() - dueAt);
          }
          o.onResponse?.(i, status, Buffer.concat(chunks).toString('utf8'));
          finish();
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (error: NodeJS.ErrnoException) => {
        errors++;
        statuses[error.code ?? 'error'] = (statuses[error.code ?? 'error'] ?? 0) + 1;
        finish();
      });
      req.end(body);
    };
    let next = 0;
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * o.rate) + 1);
      while (next < due) {
        fire(next, start + (next / o.rate) * 1000);
        next++;
      }
      if (next < total) setTimeout(tick, 1);
    };
    if (total === 0) resolve();
    else tick();
  });
  await done;
  agent.destroy();
  const elapsedS = (lastAnswerAt - start) / 1000;
  return { sent: total, statuses, ok, errors, latencies, achievedRate: total / Math.max(elapsedS, o.durationS), elapsedS };
}
