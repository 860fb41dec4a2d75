import { httpRequest, type HttpResult } from '../http.js';

export { httpRequest, type HttpResult };

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
