import type { EnrichedEvent } from '../../../shared/schema.js';

/** A client clock further ahead of the server than this is wrong, not early. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** A client timestamp older than this (a device offline for a week, a bad clock) is not believed either. */
export const MAX_CLIENT_AGE_MS = 7 * 24 * 3_600_000;

export type EventTimeSource = 'client' | 'server';

/**
 * When the event happened: the client's timestamp when it is believable, else the time the API
 * received it. Windows are cut on this time, not on when the processor happens to read the event,
 * so a replay, a restart or a lagging consumer produces the same windows.
 */
export function eventTimeOf(event: Pick<EnrichedEvent, 'timestamp' | 'server_timestamp'>): { ms: number; source: EventTimeSource } {
  // #region solution 06:event-time — When the event happened: the client's timestamp when believable, else the server's
  // hint: Believable: it parses, it is at most MAX_CLOCK_SKEW_MS ahead of `server_timestamp` and at most MAX_CLIENT_AGE_MS behind it.
  // hint: Return the milliseconds and which clock they came from (`source: 'client' | 'server'`).
  const server = Date.parse(event.server_timestamp);
  if (event.timestamp !== undefined) {
    const client = Date.parse(event.timestamp);
    if (Number.isFinite(client) && client <= server + MAX_CLOCK_SKEW_MS && client >= server - MAX_CLIENT_AGE_MS) {
      return { ms: client, source: 'client' };
    }
  }
  return { ms: server, source: 'server' };
  // #endregion solution
}
