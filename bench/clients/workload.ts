/**
 * The workload every client sends: the API's enriched events (JSON values of ~230 bytes, keyed by
 * user_id, event_id also in a header), each carrying its sequence number within the phase in its
 * event_id, so that reading the topic back tells which acked message is stored.
 */
import { randomUUID } from 'node:crypto';

export interface BenchMessage {
  key: string;
  value: string;
  headers: Record<string, string>;
}

export interface PhaseSpec {
  /** Short name, also part of the phase's topic name. */
  slug: string;
  label: string;
  /** Sends in flight at once on the one producer. */
  concurrency: number;
  messagesPerSend: number;
}

export const PHASES: PhaseSpec[] = [
  { slug: 'one-at-a-time', label: '1 msg/send, 1 at a time', concurrency: 1, messagesPerSend: 1 },
  { slug: 'concurrent-50', label: '1 msg/send, 50 concurrent', concurrency: 50, messagesPerSend: 1 },
  { slug: 'batched-100', label: '100 msgs/send, 4 concurrent', concurrency: 4, messagesPerSend: 100 },
];

const USERS = 1_000;
const EVENT_ID_PREFIX = '00000000-0000-4000-8000-';

/** A UUID-shaped event_id whose last 12 hex digits are the message's sequence number in its phase. */
export const eventIdOf = (seq: number) => `${EVENT_ID_PREFIX}${seq.toString(16).padStart(12, '0')}`;

/** The sequence number an event_id carries, or undefined for an id this bench did not write. */
export function seqOf(eventId: unknown): number | undefined {
  if (typeof eventId !== 'string' || !eventId.startsWith(EVENT_ID_PREFIX)) return undefined;
  const seq = Number.parseInt(eventId.slice(EVENT_ID_PREFIX.length), 16);
  return Number.isSafeInteger(seq) ? seq : undefined;
}

/** Message `seq` of a phase: the shape labs/01-ingest's API publishes (see bench/phases.ts, rawMessages). */
export function benchMessage(seq: number): BenchMessage {
  const userId = `bench_user_${seq % USERS}`;
  const eventId = eventIdOf(seq);
  const value = JSON.stringify({
    user_id: userId,
    event_type: 'page_view',
    properties: { page: '/pricing', i: seq },
    event_id: eventId,
    server_timestamp: new Date().toISOString(),
    client_ip: '127.0.0.1',
    request_id: randomUUID(),
  });
  return { key: userId, value, headers: { event_id: eventId } };
}
