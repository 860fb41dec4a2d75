import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../shared/config.js';
import { createKafka } from '../../../shared/kafka.js';
import { CRMEvent, type EnrichedEvent } from '../../../shared/schema.js';
import { httpRequest } from '../../../shared/testing/http.js';
import { createTopic, readTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { buildApp } from '../../01-ingest/src/app.js';
import { EventEncodeError, type EventCodec } from '../../01-ingest/src/event-codec.js';
import { EventPublisher, publisherOptionsFrom } from '../../01-ingest/src/publisher.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('lab07-batch-codec');

/** Marks what it encodes; refuses (400) an event asking to be refused, and breaks (a bug) on one asking to break. */
const markingCodec = (batchable: boolean): EventCodec => ({
  bodySchema: CRMEvent,
  batchable,
  async encode(event: EnrichedEvent) {
    if (event.properties.refuse) throw new EventEncodeError('schema_mismatch', 'this codec cannot hold `refuse`');
    if (event.properties.explode) throw new Error('codec bug');
    return Buffer.from(JSON.stringify({ ...event, encoded_by: 'marking-codec' }));
  },
});

const config = loadConfig({ KAFKA_TOPIC: topic, LOG_LEVEL: 'silent', KAFKA_BROKERS: brokers.join(',') });
let publisher: EventPublisher;
const apps: FastifyInstance[] = [];
async function start(codec: EventCodec): Promise<string> {
  const app = await buildApp(config, publisher, undefined, { codec });
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

beforeAll(async () => {
  await createTopic(brokers, topic, 1);
  publisher = new EventPublisher(createKafka(brokers, 'lab07-batch-codec'), publisherOptionsFrom(config));
  await publisher.start();
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await publisher?.stop();
});

describe('POST /batch with a codec', () => {
  it('a batchable codec encodes each event: its misfit is rejected alone with the codec\'s reason, the others are stored as it encoded them', async () => {
    const url = await start(markingCodec(true));
    const res = await httpRequest({ url: `${url}/batch`, localAddress: '127.0.0.51', body: [
      { user_id: 'u1', event_type: 'login' },
      { user_id: '', event_type: 'login' },
      { user_id: 'u3', event_type: 'login', properties: { refuse: true } },
      { user_id: 'u4', event_type: 'page_view' },
    ] });
    expect(res.status).toBe(202);
    expect(res.body.accepted.map((a: { index: number }) => a.index)).toEqual([0, 3]);
    expect(res.body.rejected.map((r: { index: number; reason: string }) => [r.index, r.reason.includes('user_id') || r.reason])).toEqual([
      [1, true], [2, 'this codec cannot hold `refuse`'],
    ]);
    const stored = await readTopic(brokers, topic);
    expect(stored.map((r) => [r.value.user_id, r.value.encoded_by])).toEqual([['u1', 'marking-codec'], ['u4', 'marking-codec']]);
  });

  it('an encode that fails for another reason is a 500 naming that event in not_acked; the rest are stored', async () => {
    const url = await start(markingCodec(true));
    const res = await httpRequest({ url: `${url}/batch`, localAddress: '127.0.0.52', body: [
      { user_id: 'u5', event_type: 'login', properties: { explode: true } },
      { user_id: 'u6', event_type: 'login' },
    ] });
    expect(res.status).toBe(500);
    expect(res.body.error).toBe('internal_error');
    expect(res.body.not_acked.map((r: { index: number }) => r.index)).toEqual([0]);
    expect(res.body.accepted.map((r: { index: number }) => r.index)).toEqual([1]);
    expect((await readTopic(brokers, topic)).map((r) => r.value.user_id)).toEqual(['u1', 'u4', 'u6']);
  });

  it('a codec that is not batchable (lab 05\'s Avro) still gets /batch refused', async () => {
    const url = await start(markingCodec(false));
    const res = await httpRequest({ url: `${url}/batch`, localAddress: '127.0.0.53', body: [{ user_id: 'u7', event_type: 'login' }] });
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('not_found');
  });
});
