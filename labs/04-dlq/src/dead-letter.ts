import type { IHeaders, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { describeIssues } from '../../../shared/schema.js';
import type { EventPosition } from '../../02-consumer-groups/src/profile-store.js';
import { decodeEvent, type Lane, type ProcessResult } from '../../02-consumer-groups/src/worker.js';
import {
  backoffDelayMs, decodeFailureHeaders, encodeFailureHeaders, failureHeaderNames, type FailureHeaders, type RetryPolicy,
} from './retry-policy.js';

export interface DeadLetterOptions {
  producer: Producer;
  retryTopic: string;
  dlqTopic: string;
  policy: RetryPolicy;
  log: Logger;
  /** Transforms a message before processing (the "fix" of the replay exercise: upgrade v2 to v1). */
  transform?: (message: KafkaMessage) => KafkaMessage;
  /** Reads a message's event (default: lab 02's JSON, {@link decodeEvent}); lab 05 reads Avro. */
  decode?: NonNullable<Lane['decode']>;
  /** Observes each retry scheduled and each dead letter (metrics). */
  onOutcome?: (outcome: 'retry-scheduled' | 'dead-lettered', failure: FailureHeaders) => void;
}

/** The message's own headers (request_id, replay_count, …) without the failure record of an earlier attempt. */
function ownHeaders(headers: IHeaders | undefined): IHeaders {
  return Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => !failureHeaderNames.includes(name)));
}

/**
 * The failure handling shared by both lanes: on a failed attempt the event is re-published,
 * acked, to the retry topic (or, after the last attempt, to the DLQ) before its offset is
 * committed, so it is never lost and never blocks the partition it came from. Its key, value
 * and own headers travel unchanged; the failure record is added as headers.
 */
async function handleFailure(o: DeadLetterOptions, message: KafkaMessage, previous: FailureHeaders | undefined,
  original: EventPosition, error: unknown): Promise<ProcessResult> {
  // #region solution 04:retry-then-dead-letter — Re-publish a failed event to the retry topic with its failure record, or after the last attempt to the DLQ, acked before its offset is committed
  // hint: Attempts so far: `previous?.attempts ?? 0`, plus this one. Build the FailureHeaders: attempt times (append now), the error as text (`describeIssues` for a ZodError), `retryAt` = now + `backoffDelayMs(o.policy, attempts)`, and the original position.
  // hint: `attempts >= o.policy.maxAttempts`: the DLQ (`o.dlqTopic`), result 'dead-lettered'; else the retry topic, 'retry-scheduled'.
  // hint: `await o.producer.send({ topic, acks: -1, messages: [{ key, value, headers }] })` with the message's key and value unchanged and its own headers (`ownHeaders`) plus `encodeFailureHeaders(failure)`: the await is what makes committing its offset safe. Then `o.onOutcome?.(…)`.
  const now = Date.now();
  const attempts = (previous?.attempts ?? 0) + 1;
  const failure: FailureHeaders = {
    attempts,
    attemptTimes: [...(previous?.attemptTimes ?? []), now],
    lastError: error instanceof ZodError ? `invalid event: ${describeIssues(error).message}`
      : error instanceof Error ? error.message : String(error),
    retryAt: now + backoffDelayMs(o.policy, attempts),
    original,
  };
  const deadLetter = attempts >= o.policy.maxAttempts;
  const topic = deadLetter ? o.dlqTopic : o.retryTopic;
  const outcome = deadLetter ? 'dead-lettered' : 'retry-scheduled';
  await o.producer.send({
    topic, acks: -1, messages: [{ key: message.key, value: message.value, headers: { ...ownHeaders(message.headers), ...encodeFailureHeaders(failure) } }],
  });
  o.log.warn({ ...original, attempts, error: failure.lastError, topic }, deadLetter
    ? `Dead-lettered after ${attempts} attempts`
    : `Attempt ${attempts} failed; retry in ${backoffDelayMs(o.policy, attempts)} ms`);
  o.onOutcome?.(outcome, failure);
  return outcome;
  // #endregion solution
}

/** The main lane: a message that fails goes to the retry topic instead of blocking the partition. */
export function mainLane(o: DeadLetterOptions): Lane {
  return {
    decode: (message, position) => (o.decode ?? decodeEvent)(o.transform ? o.transform(message) : message, position),
    onFailure: (message, position, error) => handleFailure(o, message, undefined, position, error),
  };
}

/**
 * The retry lane: each message is processed once due (the worker pauses the partition until
 * then, heartbeating, so a backoff may be longer than the session timeout), under its original
 * position (so dedupe sees the same event); a failure schedules the next attempt or dead-letters it.
 */
export function retryLane(o: DeadLetterOptions): Lane {
  const failureOf = (message: KafkaMessage, position: EventPosition): FailureHeaders => {
    const failure = decodeFailureHeaders(message.headers);
    if (!failure) throw new Error(`message at ${position.topic}/${position.partition}/${position.offset} has no retry headers`);
    return failure;
  };
  return {
    dueAt: (message) => decodeFailureHeaders(message.headers)?.retryAt,
    decode: (message, position) => (o.decode ?? decodeEvent)(o.transform ? o.transform(message) : message, failureOf(message, position).original),
    onFailure: (message, position, error) => {
      const failure = failureOf(message, position); // throws for a message that never failed: it stops the lane, loudly
      return handleFailure(o, message, failure, failure.original, error);
    },
  };
}
