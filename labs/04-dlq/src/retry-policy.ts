import type { IHeaders } from 'kafkajs';
import type { EventPosition } from '../../02-consumer-groups/src/profile-store.js';

/** Bounded exponential backoff: attempt k (1-based) that fails waits base × 2^(k-1) before the next. */
export interface RetryPolicy {
  /** Processing attempts in all, the first included; after the last failure the event goes to the DLQ. */
  maxAttempts: number;
  baseDelayMs: number;
}

export function backoffDelayMs(policy: RetryPolicy, failedAttempt: number): number {
  // #region solution 04:backoff — The wait after failed attempt k: exponential, base × 2^(k-1)
  // hint: Attempt 1 failing waits `policy.baseDelayMs`; each further failure doubles the wait (100, 200, 400 ms with a base of 100).
  // hint: `longestBackoffMs` and `policyProblems` below use this to refuse a policy whose longest wait a timer cannot hold (2^31 - 1 ms).
  return policy.baseDelayMs * 2 ** (failedAttempt - 1);
  // #endregion solution
}

/** What travels with an event through the retry topic and into the DLQ, as Kafka headers. */
export interface FailureHeaders {
  /** Attempts made so far (all failed). */
  attempts: number;
  /** When each attempt failed (ms since epoch): the growing gaps are the backoff. */
  attemptTimes: number[];
  lastError: string;
  /** Not before this time (ms since epoch) is the next attempt made. */
  retryAt: number;
  original: EventPosition;
}

/** The headers {@link encodeFailureHeaders} writes: replaced at each attempt, dropped on replay. */
export const failureHeaderNames = ['attempts', 'attempt_times', 'last_error', 'retry_at', 'original_topic', 'original_partition', 'original_offset'];

/** Timers cannot wait longer (Node fires a longer setTimeout at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The longest wait between two attempts: after the second-to-last one (the last goes to the DLQ). */
export const longestBackoffMs = (policy: RetryPolicy) => (policy.maxAttempts >= 2 ? backoffDelayMs(policy, policy.maxAttempts - 1) : 0);

/** Policies that cannot work: a backoff a timer cannot wait would be no backoff at all. */
export function policyProblems(policy: RetryPolicy): string[] {
  const longest = longestBackoffMs(policy);
  return longest > MAX_TIMER_MS
    ? [`the longest backoff, RETRY_BASE_MS × 2^(RETRY_MAX_ATTEMPTS - 2) = ${longest} ms, is longer than a timer can wait (${MAX_TIMER_MS} ms, about 24.8 days): lower RETRY_MAX_ATTEMPTS or RETRY_BASE_MS`]
    : [];
}

const text = (headers: IHeaders | undefined, name: string) => headers?.[name]?.toString();

export function encodeFailureHeaders(h: FailureHeaders): IHeaders {
  return {
    attempts: String(h.attempts),
    attempt_times: JSON.stringify(h.attemptTimes),
    last_error: h.lastError.slice(0, 1_000),
    retry_at: String(h.retryAt),
    original_topic: h.original.topic,
    original_partition: String(h.original.partition),
    original_offset: String(h.original.offset),
  };
}

/** The failure record of a message from the retry topic or the DLQ; undefined for a fresh event. */
export function decodeFailureHeaders(headers: IHeaders | undefined): FailureHeaders | undefined {
  const attempts = text(headers, 'attempts');
  if (attempts === undefined) return undefined;
  return {
    attempts: Number(attempts),
    attemptTimes: JSON.parse(text(headers, 'attempt_times') ?? '[]') as number[],
    lastError: text(headers, 'last_error') ?? '',
    retryAt: Number(text(headers, 'retry_at') ?? 0),
    original: {
      topic: text(headers, 'original_topic') ?? '',
      partition: Number(text(headers, 'original_partition')),
      offset: Number(text(headers, 'original_offset')),
    },
  };
}
