/**
 * A POST /track client that retries the way a well-behaved CRM SDK should:
 *
 * - exponential backoff with full jitter (wait a random time in [0, min(maxDelay, base * 2^(n-1))]),
 * - retries network errors (refused, reset, timed out), 503 and 429, waiting at least the
 *   server's Retry-After, and never retries any other 4xx (the request itself is wrong),
 * - gives the event its `event_id` (a UUID) once, before the first attempt, and sends the same
 *   event_id on every retry: a retry of a write that did reach Kafka (e.g. a 503 after a publish
 *   timeout) is then a recognisable duplicate, which lab 02's worker skips.
 *
 * Other 5xx answers (500, and 502/504 from nginx when a replica died with the request in flight)
 * are not retried by default: the request reached a replica and may have been published.
 * Add them to `retryOnStatus` to trade an error for a possible (recognisable) duplicate.
 */
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { httpRequest, type HttpResult } from './http.js';

export interface RetryPolicy {
  /** Attempts in total, the first one included. */
  maxAttempts: number;
  /** Cap of the first retry's jitter window; doubles on each further retry. */
  baseDelayMs: number;
  /** Upper bound of the jitter window. */
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the client gives up at once. */
  maxRetryAfterMs: number;
  /** HTTP statuses worth another attempt (with the same event_id). */
  retryOnStatus: number[];
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
  retryOnStatus: [429, 503],
};

export interface TrackClientOptions extends Partial<RetryPolicy> {
  /** Bind to this source address (e.g. '127.0.0.7') to act as a distinct client IP. */
  localAddress?: string;
  /** Per attempt: no answer within this time counts as a network error. Default 15 s. */
  timeoutMs?: number;
  /** Reuse connections between requests. Default true. */
  keepAlive?: boolean;
  /** Injectable for tests. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called after every attempt (e.g. to tally statuses). */
  onAttempt?: (attempt: Attempt, eventId: string) => void;
}

/** One HTTP attempt: a status, or a network error. */
export interface Attempt {
  attempt: number;
  status?: number;
  error?: string;
  body?: unknown;
  headers?: Record<string, string | string[] | undefined>;
  /** How long the server took to answer (or to fail). */
  elapsedMs: number;
  /** How long the client waited before the next attempt (absent on the last one). */
  waitMs?: number;
}

export interface Delivery<E = Record<string, unknown>> {
  event_id: string;
  /** The event as sent, with its event_id. */
  event: E & { event_id: string };
  /** True once an attempt got a 202: Kafka has acked the event. */
  delivered: boolean;
  /** Status of the last attempt (undefined if it was a network error). */
  status?: number;
  body?: unknown;
  attempts: Attempt[];
  /** Why the client stopped without a 202. */
  gaveUp?: string;
}

/** Full jitter: a random wait in [0, min(maxDelayMs, baseDelayMs * 2^(retry-1))). `retry` counts from 1. */
export function fullJitterDelay(retry: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * cap);
}

/** Retry-After in ms: delta-seconds (`1`) or an HTTP date. Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class TrackClient {
  readonly policy: RetryPolicy;
  private readonly agent: Agent | false;
  private readonly url: URL;

  constructor(baseUrl: string, private readonly options: TrackClientOptions = {}) {
    const { maxAttempts, baseDelayMs, maxDelayMs, maxRetryAfterMs, retryOnStatus } = { ...defaultRetryPolicy, ...stripUndefined(options) };
    this.policy = { maxAttempts, baseDelayMs, maxDelayMs, maxRetryAfterMs, retryOnStatus };
    this.url = new URL('/track', baseUrl);
    this.agent = options.keepAlive === false ? false : new Agent({ keepAlive: true });
  }

  /**
   * Sends one event until it gets a 202, a non-retryable answer, or runs out of attempts.
   * A caller-supplied `event_id` is kept; otherwise one is generated here, once.
   */
  async send<E extends Record<string, unknown>>(event: E): Promise<Delivery<E>> {
    const withId = { ...event, event_id: typeof event.event_id === 'string' ? event.event_id : randomUUID() };
    const payload = JSON.stringify(withId);
    const attempts: Attempt[] = [];
    const random = this.options.random ?? Math.random;
    const sleep = this.options.sleep ?? sleepMs;
    const { maxAttempts, baseDelayMs, maxDelayMs, maxRetryAfterMs, retryOnStatus } = this.policy;

    for (let n = 1; ; n++) {
      const started = performance.now();
      let answer: HttpResult | undefined;
      let error: string | undefined;
      try {
        answer = await this.post(payload);
      } catch (e) {
        error = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      }
      const attempt: Attempt = { attempt: n, status: answer?.status, error, body: answer?.body, headers: answer?.headers,
        elapsedMs: performance.now() - started };
      attempts.push(attempt);
      const result = (gaveUp?: string): Delivery<E> => ({
        event_id: withId.event_id, event: withId, delivered: answer?.status === 202, status: answer?.status,
        body: answer?.body, attempts, ...(gaveUp ? { gaveUp } : {}),
      });

      if (answer?.status === 202) {
        this.options.onAttempt?.(attempt, withId.event_id);
        return result();
      }
      const retryable = answer === undefined || retryOnStatus.includes(answer.status);
      if (!retryable) {
        this.options.onAttempt?.(attempt, withId.event_id);
        return result(`status ${answer!.status} is not retried`);
      }
      if (n >= maxAttempts) {
        this.options.onAttempt?.(attempt, withId.event_id);
        return result(`no 202 after ${maxAttempts} attempts (last: ${answer ? answer.status : error})`);
      }
      const retryAfter = answer ? parseRetryAfter(answer.headers['retry-after']) : undefined;
      if (retryAfter !== undefined && retryAfter > maxRetryAfterMs) {
        this.options.onAttempt?.(attempt, withId.event_id);
        return result(`Retry-After ${retryAfter} ms exceeds ${maxRetryAfterMs} ms`);
      }
      attempt.waitMs = Math.max(retryAfter ?? 0, fullJitterDelay(n, baseDelayMs, maxDelayMs, random));
      this.options.onAttempt?.(attempt, withId.event_id);
      await sleep(attempt.waitMs);
    }
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    if (this.agent) this.agent.destroy();
  }

  private post(payload: string): Promise<HttpResult> {
    return httpRequest({
      url: this.url.href, method: 'POST', body: payload, agent: this.agent,
      localAddress: this.options.localAddress, timeoutMs: this.options.timeoutMs ?? 15_000,
    });
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** One-off send with a fresh client (closed afterwards). */
export async function sendWithRetry<E extends Record<string, unknown>>(baseUrl: string, event: E, options: TrackClientOptions = {}): Promise<Delivery<E>> {
  const client = new TrackClient(baseUrl, options);
  try {
    return await client.send(event);
  } finally {
    client.close();
  }
}
