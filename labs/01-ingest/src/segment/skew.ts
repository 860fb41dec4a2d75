import { parseInstant } from '../../../../shared/schema.js';

export type SkewCorrection =
  | { ok: true; timestamp: string | undefined }
  | { ok: false; path: 'timestamp' | 'sentAt'; message: string };

const MAX_DATE_MS = 8.64e15;

/**
 * Segment's clock-skew correction: `timestamp = receivedAt − (sentAt − originalTimestamp)`, so an
 * event keeps its age as the client's clock measured it, moved onto the server's clock. Without
 * `sentAt` the client's timestamp is kept as sent; without a timestamp there is none (the workers
 * use server_timestamp). The corrected instant is written as UTC ISO with milliseconds.
 */
export function correctedTimestamp(original: unknown, sentAt: unknown, receivedAtMs: number): SkewCorrection {
  if (original === undefined) return { ok: true, timestamp: undefined };
  const originalMs = typeof original === 'string' ? parseInstant(original) : undefined;
  if (originalMs === undefined) return { ok: false, path: 'timestamp', message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-25T10:00:00.000Z' };
  if (sentAt === undefined) return { ok: true, timestamp: original as string };
  const sentAtMs = typeof sentAt === 'string' ? parseInstant(sentAt) : undefined;
  if (sentAtMs === undefined) return { ok: false, path: 'sentAt', message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-25T10:00:00.000Z' };
  const corrected = receivedAtMs - (sentAtMs - originalMs);
  if (Math.abs(corrected) > MAX_DATE_MS) return { ok: false, path: 'timestamp', message: 'is out of range once corrected for clock skew (receivedAt − (sentAt − timestamp))' };
  return { ok: true, timestamp: new Date(corrected).toISOString() };
}
