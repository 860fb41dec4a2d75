/**
 * Load shedding (src/load-shed.ts) judged on one request at a time: a request that waited longer
 * than LOAD_SHED_MAX_WAIT_MS since nginx forwarded it (its X-Request-Start) is answered 503
 * `overloaded` with Retry-After before its body is read; a fresh one is served. Under real overload,
 * behind nginx: labs/03-failure/test/overload.test.ts.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { httpRequest, track } from '../../../shared/testing/http.js';
import { createTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { startInProcessApi, type InProcessApi } from './in-process-api.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('lab01-shed');
let api: InProcessApi;

beforeAll(async () => {
  await createTopic(brokers, topic, 1);
  api = await startInProcessApi(brokers, { KAFKA_TOPIC: topic, LOAD_SHED_MAX_WAIT_MS: '500' });
});
afterAll(async () => {
  await api?.close();
});

/** nginx's stamp for a request it forwarded `agoMs` ago. */
const forwarded = (agoMs: number) => ({ 'x-request-start': `t=${((Date.now() - agoMs) / 1000).toFixed(3)}` });

describe('load shedding', () => {
  it('answers a request that waited past the limit 503 overloaded with Retry-After, serves a fresh one, and never sheds /health', async () => {
    const late = await track(api.url, { user_id: 'shed_user', event_type: 'page_view' }, { headers: forwarded(5_000) });
    expect({ status: late.status, error: late.body.error, message: typeof late.body.message }).toEqual({ status: 503, error: 'overloaded', message: 'string' });
    expect(late.body.message).toMatch(/waited \d+ ms/);
    expect(late.headers['retry-after']).toBe('1');
    expect(late.body.event_id).toBeUndefined(); // nothing was accepted

    const fresh = await track(api.url, { user_id: 'shed_user', event_type: 'page_view' }, { headers: forwarded(0) });
    expect(fresh.status).toBe(202);
    expect((await httpRequest({ url: `${api.url}/health`, headers: forwarded(5_000) })).status).toBe(200);
  });

  it('sheds Segment\'s endpoints the same way (the SDK retries a 503)', async () => {
    const auth = { authorization: `Basic ${Buffer.from('crm-lab:').toString('base64')}` };
    const message = { userId: 'shed_user', event: 'page_view', messageId: 'shed-1' };
    for (const [path, body] of [['/v1/track', message], ['/v1/identify', { userId: 'shed_user', messageId: 'shed-2' }], ['/v1/batch', { batch: [{ type: 'track', ...message }] }]] as const) {
      const late = await httpRequest({ url: `${api.url}${path}`, body: JSON.stringify(body), headers: { ...auth, ...forwarded(5_000) } });
      expect({ path, status: late.status, error: late.body.error, retryAfter: late.headers['retry-after'] }).toEqual({ path, status: 503, error: 'overloaded', retryAfter: '1' });
    }
    const fresh = await httpRequest({ url: `${api.url}/v1/track`, body: JSON.stringify(message), headers: { ...auth, ...forwarded(0) } });
    expect(fresh.status).toBe(200);
  });
});
