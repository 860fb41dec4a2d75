import { request } from 'node:http';

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the body is JSON, else the raw text. */
  body: any;
  elapsedMs: number;
}

/**
 * One HTTP request from a chosen loopback address: `localAddress: '127.0.0.7'` makes the
 * client a distinct IP for nginx's and the API's per-IP limits.
 */
export function httpRequest(opts: {
  url: string;
  method?: string;
  /** An object is sent as JSON; a string is sent as it is (for malformed bodies). */
  body?: unknown;
  headers?: Record<string, string>;
  localAddress?: string;
  timeoutMs?: number;
}): Promise<HttpResult> {
  const started = performance.now();
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = request(
      opts.url,
      {
        method: opts.method ?? (payload === undefined ? 'GET' : 'POST'),
        localAddress: opts.localAddress,
        headers: {
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          ...opts.headers,
        },
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, elapsedMs: performance.now() - started });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${opts.url} timed out after ${opts.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Posts one event to /track. */
export function track(baseUrl: string, event: unknown, opts: { localAddress?: string; timeoutMs?: number; headers?: Record<string, string> } = {}) {
  return httpRequest({ url: `${baseUrl}/track`, body: event, ...opts });
}

/** Tallies results by status code: `{ 202: 51, 429: 29 }`. */
export function countByStatus(results: { status: number }[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}
