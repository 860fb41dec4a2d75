/**
 * Events into Kafka at an even rate, shaped as the API writes them (key user_id, the enriched event
 * as JSON, headers request_id, trace and event_id), for profiling what consumes them without the
 * ingest path's CPU on the same cores. One send at a time, holding whatever fell due meanwhile.
 */
import { randomUUID } from 'node:crypto';
import type { Message } from 'kafkajs';
import { createEventProducer, createKafka } from '../../shared/kafka.js';
import { formatSpans, nowMs } from '../../shared/trace.js';

const USERS = 100;

function apiMessage(i: number): Message {
  const now = nowMs();
  const request_id = randomUUID().replace(/-/g, '');
  const event = {
    user_id: `profile_user_${i % USERS}`,
    event_type: i % 5 === 0 ? 'login' : 'page_view',
    properties: { page: '/pricing', i },
    event_id: randomUUID(),
    server_timestamp: new Date(now).toISOString(),
    client_ip: '127.0.0.1',
    request_id,
  };
  return {
    key: event.user_id,
    value: JSON.stringify(event),
    headers: { request_id, trace: formatSpans({ api_received: now, api_validated: now, api_produce_start: now }), event_id: event.event_id },
  };
}

/** Produces `rate` events per second for `seconds`; resolves with how many were acked. */
export async function producePaced(o: { brokers: string[]; topic: string; rate: number; seconds: number }): Promise<number> {
  const producer = createEventProducer(createKafka(o.brokers, 'crm-profile-load'));
  await producer.connect();
  const total = Math.round(o.rate * o.seconds);
  const start = performance.now();
  let sent = 0;
  try {
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * o.rate) + 1);
      if (due > sent) {
        const messages = Array.from({ length: due - sent }, (_, k) => apiMessage(sent + k));
        await producer.send({ topic: o.topic, acks: -1, messages });
        sent = due;
      } else {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
  } finally {
    await producer.disconnect();
  }
  return sent;
}
