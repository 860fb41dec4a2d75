import { request } from 'node:http';
import type { HttpResult } from '../../../shared/testing/http.js';

/** POSTs exact bytes (invalid UTF-8, gzip) from a chosen loopback address. */
export function postBytes(url: string, body: Buffer, opts: { headers?: Record<string, string>; localAddress?: string } = {}): Promise<HttpResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      localAddress: opts.localAddress,
      headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...opts.headers },
      timeout: 30_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try { parsed = JSON.parse(text); } catch { /* nginx's HTML, if it ever comes back */ }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, elapsedMs: performance.now() - started });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}
