/**
 * An evenly paced, open-loop HTTP load: request i is due at start + i / rate, whatever the
 * answers to earlier requests (a slow server gets no pause). Latency runs from the moment a
 * request was due, so time spent waiting for a free connection counts (no coordinated omission).
 * autocannon's `overallRate` instead sends each connection's quota back to back at the start of
 * every second, which measures bursts, not a steady rate.
 *
 * Used by lab 01's bench (phases at a fixed rate) and lab 03's traffic spike (many client IPs,
 * `localAddress`, each answer reported with `onAnswer`).
 */
import http from 'node:http';
import https from 'node:https';

export interface PacedLoadOptions {
  url: string;
  path: string;
  /** Requests per second. */
  rate: number;
  /** How long to send; `stop` may end it sooner. */
  durationS: number;
  /** Checked before each request: true stops sending (the requests in flight are still answered). */
  stop?: () => boolean;
  /** Source address of request i (e.g. '127.0.5.3': a distinct client IP); the connections are pooled per address. */
  localAddress?: (i: number) => string;
  /** Keep-alive connections at most (requests beyond them wait for one). */
  connections: number;
  /** Request i's body, made when it is due (just before it is sent). */
  body: (i: number) => string;
  headers?: Record<string, string>;
  /** Called with each answer: its index, status and body. */
  onResponse?: (i: number, status: number, body: string) => void;
  /** Called with every outcome, answer or network error, when it is known. */
  onAnswer?: (i: number, answer: PacedAnswer) => void;
  timeoutMs?: number;
  /** For an https:// url: the CA to trust (lab 07's local CA). */
  ca?: string | Buffer;
  /** false: a new connection (and TLS handshake) per request. Default true. */
  keepAlive?: boolean;
}

export interface PacedAnswer {
  status?: number;
  /** A network error's code (or 'TIMEOUT'), when there is no status. */
  error?: string;
  body?: string;
  headers?: http.IncomingHttpHeaders;
  /** ms from sending to the answer (or the failure). */
  elapsedMs: number;
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
  let total = Math.round(o.rate * o.durationS);
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
      const sentAt = performance.now();
      const req = request({
        agent, host: target.hostname, port: target.port, path: o.path, method: 'POST', localAddress: o.localAddress?.(i),
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
          const text = Buffer.concat(chunks).toString('utf8');
          o.onResponse?.(i, status, text);
          o.onAnswer?.(i, { status, body: text, headers: res.headers, elapsedMs: performance.now() - sentAt });
          finish();
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (error: NodeJS.ErrnoException) => {
        errors++;
        statuses[error.code ?? 'error'] = (statuses[error.code ?? 'error'] ?? 0) + 1;
        o.onAnswer?.(i, { error: error.code ?? 'error', elapsedMs: performance.now() - sentAt });
        finish();
      });
      req.end(body);
    };
    let next = 0;
    const tick = () => {
      if (o.stop?.()) {
        total = next;
        if (answered === total) resolve();
        return;
      }
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
  return { sent: total, statuses, ok, errors, latencies, achievedRate: total / Math.max(elapsedS, total / o.rate), elapsedS };
}
