import type { FastifyRequest } from 'fastify';

const ips = new WeakMap<object, string>();

/**
 * The client's address (Fastify's `request.ip`: X-Forwarded-For believed from TRUST_PROXY only),
 * worked out once per request. `request.ip` is a getter that parses the header and the trusted
 * ranges again on every read, and the rate limit, /batch's budget and enrich() each read it.
 */
export function clientIp(request: FastifyRequest): string {
  let ip = ips.get(request);
  if (ip === undefined) ips.set(request, ip = request.ip);
  return ip;
}
