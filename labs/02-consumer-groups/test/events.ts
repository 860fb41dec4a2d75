import { randomUUID } from 'node:crypto';
import type { EnrichedEvent } from '../../../shared/schema.js';

/** An event as the API would have written it to Kafka. */
export function enrichedEvent(user_id: string, event_type: string, properties: Record<string, unknown> = {}): EnrichedEvent {
  return {
    user_id,
    event_type,
    properties,
    event_id: randomUUID(),
    server_timestamp: new Date().toISOString(),
    client_ip: '127.0.0.1',
  };
}
