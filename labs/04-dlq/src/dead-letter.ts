import type { KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { describeIssues } from '../../../shared/schema.js';
import type { MessageProcessor, ProcessResult } from '../../02-consumer-groups/src/worker.js';
import { backoffDelayMs, decodeFailureHeaders, encodeFailureHeaders, type FailureHeaders, type RetryPolicy } from './retry-policy.js';

export interface DeadLetterOptions {
  producer: Producer;
  retryTopic: string;
  dlqTopic: string;
  policy: RetryPolicy;
  log: Logger;
  /** Transforms a message before processing (the "fix" of the replay exercise: upgrade v2 to v1). */
  transform?: (message: KafkaMessage) => KafkaMessage;
  /** Observes each retry scheduled and each dead letter (metrics). */
  onOutcome?: (outcome: 'retry-scheduled' | 'dead-lettered', failure: FailureHeaders) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The failure handling shared by both lanes: on a failed attempt the event is re-published,
 * acked, to the retry topic (or, after the last attempt, to the DLQ) before its offset is
 * committed, so it is never lost and never blocks the partition it came from.
 */
function handleFailure(o: DeadLetterOptions, message: KafkaMessage, previous: FailureHeaders | undefined,
  original: FailureHeaders['original'], error: unknown): Promise<ProcessResult> {
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
  return o.producer
    .send({ topic, acks: -1, messages: [{ key: message.key, value: message.value, headers: encodeFailureHeaders(failure) }] })
    .then(() => {
      o.log.warn({ ...original, attempts, error: failure.lastError, topic }, deadLetter
        ? `Dead-lettered after ${attempts} attempts`
        : `Attempt ${attempts} failed; retry in ${backoffDelayMs(o.policy, attempts)} ms`);
      o.onOutcome?.(outcome, failure);
      return outcome;
    });
}

/** Wraps the main lane's processing: a failure goes to the retry topic instead of blocking the partition. */
export function mainLane(o: DeadLetterOptions) {
  return (process: MessageProcessor): MessageProcessor => async (message, position) => {
    try {
      return await process(o.transform ? o.transform(message) : message, position);
    } catch (error) {
      return handleFailure(o, message, undefined, position, error);
    }
  };
}

/**
 * Wraps the retry lane's processing: waits until the message is due, processes it under its
 * original position (so dedupe sees the same event), and on failure schedules the next attempt
 * or dead-letters it. Waits stay below the consumer's session timeout; longer delays would
 * call for one retry topic per delay tier, paused and resumed.
 */
export function retryLane(o: DeadLetterOptions) {
  return (process: MessageProcessor): MessageProcessor => async (message, position) => {
    const failure = decodeFailureHeaders(message.headers);
    if (!failure) throw new Error(`message at ${position.topic}/${position.partition}/${position.offset} has no retry headers`);
    const wait = failure.retryAt - Date.now();
    if (wait > 0) await sleep(wait);
    try {
      return await process(o.transform ? o.transform(message) : message, failure.original);
    } catch (error) {
      return handleFailure(o, message, failure, failure.original, error);
    }
  };
}
