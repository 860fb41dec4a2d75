/**
 * Lab 07's edge, run for real: nginx with TLS in front of three lab 07 replicas that accept only
 * nginx's address, check write keys, and share one per-customer budget in Redis (behind Toxiproxy).
 */
import { Agent } from 'node:https';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { StopWaiting, waitFor } from '../../../infra/processes.js';
import { countByStatus, httpRequest, type HttpResult } from '../../../shared/testing/http.js';
import { readTopic } from '../../../shared/testing/kafka.js';
import { CUSTOMER_LIMIT, post, replicaSum, startEdgeStack, type EdgeStack } from './edge-stack.js';

const { brokers, toxiproxyUrl } = inject('kafka');
let stack: EdgeStack;

beforeAll(async () => {
  stack = await startEdgeStack(brokers, toxiproxyUrl);
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

const event = (user_id: string) => ({ user_id, event_type: 'page_view' });
const instancesOf = (results: HttpResult[]) => new Set(results.map((r) => r.headers['x-api-instance']));

/** The stored events of these users, by user_id. */
async function storedByUser(users: string[]) {
  const records = await readTopic(brokers, stack.topic);
  return new Map(records.filter((r) => users.includes(r.value.user_id)).map((r) => [r.value.user_id as string, r.value]));
}

describe('write keys', () => {
  it('answers 401 missing_write_key without a key and 403 invalid_write_key for an unknown one, publishing nothing', async () => {
    const none = await post(stack, '/track', event('wk_none'));
    const unknown = await post(stack, '/track', event('wk_unknown'), { writeKey: 'crm_wk_not-a-key-anyone-was-given' });
    const batch = await post(stack, '/batch', [event('wk_batch_none')]);
    expect([none.status, none.body.error, unknown.status, unknown.body.error, batch.status, batch.body.error])
      .toEqual([401, 'missing_write_key', 403, 'invalid_write_key', 401, 'missing_write_key']);
    expect(none.body.message).toContain('Authorization: Bearer');
    expect([...(await storedByUser(['wk_none', 'wk_unknown', 'wk_batch_none'])).keys()]).toEqual([]);
  });

  it('accepts a live key on /track and /batch and records its customer on each stored event', async () => {
    const { writeKey } = stack.keys.create('acme');
    const single = await post(stack, '/track', event('wk_acme_1'), { writeKey });
    const batch = await post(stack, '/batch', [event('wk_acme_2'), event('wk_acme_3')], { writeKey });
    expect([single.status, batch.status]).toEqual([202, 202]);
    const stored = await storedByUser(['wk_acme_1', 'wk_acme_2', 'wk_acme_3']);
    expect([...stored.values()].map((e) => e.customer_id)).toEqual(['acme', 'acme', 'acme']);
  });

  it('refuses a revoked key on every replica from the next request', async () => {
    const { keyId, writeKey } = stack.keys.create('initech');
    const before: HttpResult[] = [];
    for (let i = 0; i < 9; i++) before.push(await post(stack, '/track', event(`wk_revoked_before_${i}`), { writeKey }));
    expect(countByStatus(before)).toEqual({ 202: 9 });
    expect(stack.keys.revoke(keyId)).toBe(true);
    const after: HttpResult[] = [];
    for (let i = 0; i < 12; i++) after.push(await post(stack, '/track', event(`wk_revoked_after_${i}`), { writeKey }));
    expect(countByStatus(after)).toEqual({ 403: 12 });
    expect(after.every((r) => r.body.error === 'invalid_write_key')).toBe(true);
    expect([...instancesOf(after)].sort()).toEqual(['api-1', 'api-2', 'api-3']);
  });
});

describe('only nginx reaches the API', () => {
  it('refuses a direct connection to a replica with 403 forbidden_peer and publishes nothing; through nginx the same request is accepted', async () => {
    const { writeKey } = stack.keys.create('umbrella');
    const headers = { authorization: `Bearer ${writeKey}` };
    // Direct, as a local client would, and with the headers only nginx should set.
    const direct = await Promise.all(stack.replicas.map((r) => httpRequest({ url: `${r.url}/track`, body: event(`peer_direct_${r.id}`),
      headers: { ...headers, 'x-forwarded-for': '203.0.113.9', 'x-request-id': 'f'.repeat(32) } })));
    for (const r of direct) expect({ status: r.status, error: r.body.error }).toEqual({ status: 403, error: 'forbidden_peer' });
    const viaEdge = await post(stack, '/track', event('peer_via_edge'), { writeKey });
    expect(viaEdge.status).toBe(202);
    const stored = await storedByUser([...stack.replicas.map((r) => `peer_direct_${r.id}`), 'peer_via_edge']);
    expect([...stored.keys()]).toEqual(['peer_via_edge']);
    // Probes and Prometheus still reach the replica's own operator routes.
    expect((await httpRequest({ url: `${stack.replicas[0]!.url}/ready` })).status).toBe(200);
  });
});

describe('TLS at nginx', () => {
  it('serves HTTPS with a certificate the lab CA signed', async () => {
    const { writeKey } = stack.keys.create('tls-client');
    const res = await post(stack, '/track', event('tls_ok'), { writeKey });
    expect(res.status).toBe(202);
    expect(stack.nginx.url).toMatch(/^https:/);
  });

  it('fails the handshake of a client that does not trust the lab CA', async () => {
    const error = await httpRequest({ url: `${stack.nginx.url}/health`, agent: new Agent({ keepAlive: false }) }).then(() => undefined, (e: NodeJS.ErrnoException) => e);
    expect(error?.code).toMatch(/^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/);
  });

  it('refuses plain HTTP on its second port with a JSON 403 https_required, without reaching a replica', async () => {
    const { writeKey } = stack.keys.create('plain-client');
    const res = await httpRequest({ url: `${stack.nginx.plainHttpUrl}/track`, body: event('tls_plain'), headers: { authorization: `Bearer ${writeKey}` } });
    expect({ status: res.status, type: res.headers['content-type'], error: res.body.error })
      .toEqual({ status: 403, type: 'application/json', error: 'https_required' });
    expect(res.headers['x-api-instance']).toBeUndefined();
    expect([...(await storedByUser(['tls_plain'])).keys()]).toEqual([]);
  });

  it('answers its own errors as JSON over HTTPS', async () => {
    const missing = await httpRequest({ url: `${stack.nginx.url}/nowhere`, ca: stack.ca });
    const big = await httpRequest({ url: `${stack.nginx.url}/track`, ca: stack.ca, body: { user_id: 'big', event_type: 'x', properties: { blob: 'x'.repeat(70 * 1024) } } });
    expect([missing.status, missing.headers['content-type'], missing.body.error, big.status, big.body.error])
      .toEqual([404, 'application/json', 'not_found', 413, 'payload_too_large']);
  });
});

describe('per-customer limit shared by all replicas', () => {
  // Five client IPs: each sends ≤ 21 requests, inside nginx's per-IP burst of 50, so nginx never answers.
  const ips = ['127.0.4.1', '127.0.4.2', '127.0.4.3', '127.0.4.4', '127.0.4.5'];
  let limited: { writeKey: string };

  // CUSTOMER_LIMIT is 100 (edge-stack.ts).
  it('answers a customer\'s 101st request in the window with JSON 429 over all 3 replicas; another customer is unaffected', async () => {
    limited = stack.keys.create('limited-co');
    const other = stack.keys.create('other-co');
    const results = await Promise.all(Array.from({ length: CUSTOMER_LIMIT }, (_, i) =>
      post(stack, '/track', event(`limit_${i}`), { writeKey: limited.writeKey, ip: ips[i % ips.length] })));
    expect(countByStatus(results)).toEqual({ [202]: CUSTOMER_LIMIT });
    expect([...instancesOf(results)].sort()).toEqual(['api-1', 'api-2', 'api-3']);

    const over = await post(stack, '/track', event('limit_over'), { writeKey: limited.writeKey, ip: '127.0.4.6' });
    expect({ status: over.status, type: over.headers['content-type'], error: over.body.error })
      .toEqual({ status: 429, type: 'application/json; charset=utf-8', error: 'rate_limited' });
    expect(over.body.message).toContain(`${CUSTOMER_LIMIT} requests per 10 minutes per customer`);
    expect(over.headers['x-api-instance']).toBeDefined(); // a replica answered: nginx's per-IP limit did not
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);

    const otherResult = await post(stack, '/track', event('limit_other'), { writeKey: other.writeKey, ip: '127.0.4.6' });
    expect(otherResult.status).toBe(202);
  });

  it('fails open while Redis is unreachable: every request is accepted and counted as a store error, none is a 5xx; the limit is back with Redis', async () => {
    const errorsBefore = await replicaSum(stack, 'rate_limit_store_errors_total', { outcome: 'allowed' });
    await stack.redisProxy.update({ enabled: false, listen: stack.redisProxy.listen, upstream: stack.redisProxy.upstream });
    let duringOutage: HttpResult[];
    try {
      // The customer is over its limit: only the fail-open decision lets these through.
      duringOutage = await Promise.all(Array.from({ length: 30 }, (_, i) =>
        post(stack, '/track', event(`outage_${i}`), { writeKey: limited.writeKey, ip: ips[i % ips.length] })));
    } finally {
      await stack.redisProxy.update({ enabled: true, listen: stack.redisProxy.listen, upstream: stack.redisProxy.upstream });
    }
    expect(countByStatus(duringOutage)).toEqual({ 202: 30 });
    const errorsAfter = await replicaSum(stack, 'rate_limit_store_errors_total', { outcome: 'allowed' });
    expect(errorsAfter - errorsBefore).toBe(30);
    expect(await replicaSum(stack, 'rate_limit_store_errors_total', { outcome: 'refused' })).toBe(0);

    // Redis kept its count: once the replicas reconnect, the customer is refused again.
    const back = await waitFor('a 429 for the over-limit customer once Redis is reachable', async () => {
      const r = await post(stack, '/track', event('outage_after'), { writeKey: limited.writeKey, ip: '127.0.4.7' });
      if (r.status >= 500) throw new StopWaiting(`a ${r.status} while Redis reconnected: ${JSON.stringify(r.body)}`);
      return r.status === 429 ? r : undefined;
    }, { timeoutMs: 20_000, intervalMs: 300 });
    expect(back.body.error).toBe('rate_limited');
  });
});
