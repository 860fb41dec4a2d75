import { request } from 'node:http';
import { connect } from 'node:net';
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

/**
 * Sends exact request bytes on a fresh connection and reads the answer until the server closes it:
 * for what an HTTP client library will not send (a malformed request line, HTTP/2.0 in clear text).
 */
export function sendRawRequest(url: string, request: string, localAddress?: string): Promise<HttpResult> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), localAddress }, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.setTimeout(30_000, () => socket.destroy(new Error(`no answer from ${url} to ${JSON.stringify(request.slice(0, 40))}`)));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const raw = rest.join('\r\n\r\n');
      let body: unknown = raw;
      try { body = JSON.parse(raw); } catch { /* nginx's HTML page, or nothing */ }
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers, body, elapsedMs: performance.now() - started });
    });
  });
}
