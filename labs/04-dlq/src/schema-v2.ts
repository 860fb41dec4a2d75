import { z } from 'zod';
import type { EnrichedEvent } from '../../../shared/schema.js';

/**
 * A "v2" event, as a newer producer might write it: nested user, renamed fields.
 * A v1 worker cannot parse it (a poison message); a worker deployed with
 * SUPPORTED_SCHEMA_VERSION=2 translates it to the v1 shape the profile store knows.
 */
export const EventV2 = z.object({
  schema_version: z.literal(2),
  event_id: z.uuid(),
  user: z.object({ id: z.string().min(1) }),
  type: z.string().min(1),
  props: z.record(z.string(), z.unknown()).default({}),
  server_timestamp: z.iso.datetime(),
  client_ip: z.string(),
});

export type EventV2 = z.infer<typeof EventV2>;

export function v2ToV1(event: EventV2): EnrichedEvent {
  return {
    event_id: event.event_id,
    user_id: event.user.id,
    event_type: event.type,
    properties: event.props,
    server_timestamp: event.server_timestamp,
    client_ip: event.client_ip,
  };
}

/** Rewrites a v2 message value to v1; any other value is returned as it is. */
export function upgradeValue(value: Buffer | null): Buffer | null {
  if (!value) return value;
  const parsed = EventV2.safeParse(JSON.parse(value.toString()));
  return parsed.success ? Buffer.from(JSON.stringify(v2ToV1(parsed.data))) : value;
}
