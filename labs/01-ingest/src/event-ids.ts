import { createHash, randomUUID } from 'node:crypto';

/** 32 hex digits as a UUID (version 4, RFC variant). */
function uuidFromHex(hex: string): string {
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** nginx's `$request_id`: 32 hex digits, the same on every upstream it tries for one request. */
export function isEdgeRequestId(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{32}$/.test(value);
}

/**
 * nginx's `$request_id` as a UUID. It is the event's id when the client sent none, so that if
 * nginx re-sends a POST to another replica after the first one died, both copies share their
 * event_id and the workers keep one. Only believed from a trusted proxy.
 */
export function eventIdFromEdgeRequestId(requestId: unknown): string | undefined {
  return isEdgeRequestId(requestId) ? uuidFromHex(requestId) : undefined;
}

/**
 * The id of event `index` of a batch without a client event_id: derived from nginx's request id
 * and the index (SHA-256), so a batch re-sent by nginx gives each event the same id again.
 */
export function batchEventIdFromEdgeRequestId(requestId: unknown, index: number): string | undefined {
  if (!isEdgeRequestId(requestId)) return undefined;
  return uuidFromHex(createHash('sha256').update(`${requestId}:${index}`).digest('hex'));
}

export const newEventId = randomUUID;
