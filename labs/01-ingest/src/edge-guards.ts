/**
 * Lab 07's checks at the door of a replica, as onRequest hooks (off unless buildApp is given them):
 * who may connect (the edge only) and which customer's write key sent the events.
 */
import type { FastifyRequest } from 'fastify';
import proxyAddr from '@fastify/proxy-addr';
import { ApiError } from './errors.js';
import { setCustomer } from './request-customer.js';

/** The customer a write key belongs to, or undefined for a key that is unknown or revoked. */
export type Authenticate = (writeKey: string) => string | undefined;

/** Served on the replica's own port to probes and Prometheus, which do not come through nginx (lab 01). */
const OPERATOR_ROUTES = new Set(['/health', '/ready', '/metrics']);
const KEYED_ROUTES = new Set(['/track', '/batch']);

/**
 * Refuses (403 forbidden_peer) a connection from any address but `allowedPeers` (addresses or
 * CIDRs: nginx's proxy_bind), so no client can skip nginx's limits or forge what the replica
 * believes of it. Operator routes stay open to probes.
 */
export function peerGuard(allowedPeers: string[]) {
  const allowed = proxyAddr.compile(allowedPeers);
  return async (request: FastifyRequest) => {
    if (OPERATOR_ROUTES.has(request.routeOptions.url ?? '')) return;
    const peer = request.socket.remoteAddress ?? '';
    if (!allowed(peer, 0)) throw new ApiError('forbidden_peer', `connections from ${peer} are not accepted: send through the edge`);
  };
}

/**
 * POST /track and /batch need `Authorization: Bearer <write key>`: none is a 401, a key that
 * `authenticate` does not know (or knows revoked) a 403. The key's customer goes on the request.
 */
export function writeKeyGuard(authenticate: Authenticate) {
  return async (request: FastifyRequest) => {
    if (request.method !== 'POST' || !KEYED_ROUTES.has(request.routeOptions.url ?? '')) return;
    // #region solution 07:write-key-check — Read the write key from `Authorization: Bearer …`: none is a 401, one `authenticate` does not know a 403; else name its customer on the request
    // hint: Two refusals, two statuses: no credential at all is 401 (`missing_write_key`, say how to send one), a credential that names nobody is 403 (`invalid_write_key`). Throw an `ApiError` with the code: lab 01's error table gives each its status and JSON body.
    // hint: The header is `Bearer <key>`, scheme case-insensitive; anything else (no header, another scheme, an empty key) counts as no key.
    // hint: `authenticate(writeKey)` answers the customer or undefined (unknown or revoked); `setCustomer(request, customerId)` is what enrich() and the per-customer limit read later.
    // stub: return;
    const writeKey = /^Bearer +(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (writeKey === undefined) throw new ApiError('missing_write_key', 'send your write key as Authorization: Bearer <write key>');
    const customerId = authenticate(writeKey);
    if (customerId === undefined) throw new ApiError('invalid_write_key', 'the write key is unknown or has been revoked');
    setCustomer(request, customerId);
    // #endregion solution
  };
}
