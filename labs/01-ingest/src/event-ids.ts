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
  // #region solution 01:derive-event-id — Derive the event_id from nginx's request id, so both copies of a POST nginx re-sent share it
  // hint: nginx's `$request_id` is 32 hex digits (`isEdgeRequestId`), the same on every replica nginx tries for one request: the id must be a pure function of it.
  // hint: A UUID is 32 hex digits too: `uuidFromHex` (above) sets the version (4) and variant bits. Anything that is not an edge request id gives undefined (the caller then makes a random one).
  // hint: For a batch, event `index` needs an id of its own that is still the same on a re-send: hash `${requestId}:${index}` (SHA-256) and make a UUID of the first 32 hex digits.
  // stub: return undefined;
  return isEdgeRequestId(requestId) ? uuidFromHex(requestId) : undefined;
  // #endregion solution
}

/**
 * The id of event `index` of a batch without a client event_id: derived from nginx's request id
 * and the index (SHA-256), so a batch re-sent by nginx gives each event the same id again.
 */
export function batchEventIdFromEdgeRequestId(requestId: unknown, index: number): string | undefined {
  // #region solution 01:derive-event-id — Derive batch event `index`'s event_id from nginx's request id and the index
  // stub: return undefined;
  if (!isEdgeRequestId(requestId)) return undefined;
  return uuidFromHex(createHash('sha256').update(`${requestId}:${index}`).digest('hex'));
  // #endregion solution
}

export const newEventId = randomUUID;
