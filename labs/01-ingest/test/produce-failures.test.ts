/**
 * kafka_produce_failures_total counts what Kafka did not ack, not the API's own bugs: an alert on
 * it (shared/observability) must not page the Kafka on-call for a TypeError in the API.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config.js';
import { createKafka } from '../../../shared/kafka.js';
import { buildApp, type Publisher } from '../src/app.js';
import { EventPublisher, publisherOptionsFrom } from '../src/publisher.js';

const config = loadConfig({ LOG_LEVEL: 'silent' });
const event = { user_id: 'failure_user', event_type: 'page_view' };

async function produceFailuresAfterOneTrack(publisher: Publisher) {
  const app = await buildApp(config, publisher);
  try {
    const res = await app.inject({ method: 'POST', url: '/track', payload: event });
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const failures = Number(/^kafka_produce_failures_total\{[^}]*\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
    return { status: res.statusCode, error: res.json().error, failures };
  } finally {
    await app.close();
  }
}

describe('the produce-failure metric', () => {
  it('counts a publish Kafka did not ack (503), and not a bug in the API (500)', async () => {
    // A real publisher that never connected: its publish rejects with KafkaUnavailableError.
    const unconnected = new EventPublisher(createKafka(['127.0.0.1:1'], 'crm-lab-test-unconnected'), publisherOptionsFrom(config));
    expect(await produceFailuresAfterOneTrack(unconnected)).toEqual({ status: 503, error: 'kafka_unavailable', failures: 1 });

    // A sink that fails for a reason of its own (a bug): 500, and Kafka is not blamed.
    const buggy: Publisher = { ready: true, publish: () => Promise.reject(new TypeError('cannot read properties of undefined')) };
    expect(await produceFailuresAfterOneTrack(buggy)).toEqual({ status: 500, error: 'internal_error', failures: 0 });
  });
});
