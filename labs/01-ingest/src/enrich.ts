import type { FastifyRequest } from 'fastify';
import type { CRMEvent, EnrichedEvent } from '../../../shared/schema.js';
import { newEventId } from './event-ids.js';
import { customerOf } from './request-customer.js';
import { clientIp } from './client-ip.js';

/**
 * The event as written to Kafka: the client's, plus event_id (the client's; else `derivedId`,
 * from nginx's request id; else a new UUID), server_timestamp, client_ip and request_id; and
 * customer_id when a write key named the customer (lab 07).
 */
export function enrich(event: CRMEvent, request: FastifyRequest, derivedId: string | undefined): EnrichedEvent {
  const customerId = customerOf(request);
  return {
    ...event,
    event_id: event.event_id ?? derivedId ?? newEventId(),
    server_timestamp: new Date().toISOString(),
    client_ip: clientIp(request),
    request_id: String(request.id),
    ...(customerId === undefined ? {} : { customer_id: customerId }),
  };
}
