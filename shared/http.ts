import { request as httpOnlyRequest, type Agent } from 'node:http';
import { request as httpsRequest } from 'node:https';

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
  /** A keep-alive agent to reuse connections, false for a new connection each time; default: Node's global agent. */
  agent?: Agent | false;
  /** For https:// URLs: the CA certificate(s) to trust instead of the system's (lab 07's local CA). */
  ca?: string | Buffer;
}): Promise<HttpResult> {
  const started = performance.now();
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const https = opts.url.startsWith('https:');
    const request = https ? httpsRequest : httpOnlyRequest;
    const req = request(
      opts.url,
      {
        ...(https && opts.ca !== undefined ? { ca: opts.ca } : {}),
        method: opts.method ?? (payload === undefined ? 'GET' : 'POST'),
        agent: opts.agent,
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
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON (e.g. nginx's HTML error page) */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, elapsedMs: performance.now() - started });
        });
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(
      new Error(`no answer from ${opts.url} within ${opts.timeoutMs ?? 30_000} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
