/**
 * Load shedding: past capacity a replica answers the excess at once — 503 `overloaded` with
 * `Retry-After`, before its body is read — instead of queueing it until every answer is late and
 * nginx times out (502/504 for events that were only waiting). Only the event routes (POST /track,
 * /batch and Segment's /v1/…) are shed; /health, /ready and /metrics always answer.
 *
 * Two signals, each off when 0:
 * - requests in flight (parsed, not yet answered: most wait for Kafka's ack) over
 *   LOAD_SHED_MAX_IN_FLIGHT: admitting a fixed number at a time bounds the wait of those admitted;
 * - how long the request waited since nginx forwarded it (its `X-Request-Start` stamp) over
 *   LOAD_SHED_MAX_WAIT_MS. A busy replica leaves requests unread in its sockets, where the
 *   in-flight count cannot see them; shedding those that waited too long answers them cheaply and
 *   keeps the wait of the others near the limit, however many nginx sends (CoDel's idea: judge the
 *   queue by how long its requests sat in it). The default limit (3 s) is above nginx's connect
 *   timeout (2 s): a request re-sent after a connect to a dead container timed out keeps its first
 *   stamp (docker-compose's test caught 503s for exactly that wait at 500 ms). nginx and the replicas read one clock (one host; the
 *   compose containers share the host's); a client that sends its own stamp only gets itself shed.
 * A shed request wrote nothing (no event_id is assigned): the client retries it as it was.
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Config } from '../../../shared/config.js';
import { nowMs, parseRequestStart } from '../../../shared/trace.js';
import { API_ERRORS, errorBody } from './errors.js';
import { SEGMENT_TYPES } from './segment/map-message.js';

export type LoadShedConfig = Pick<Config, 'LOAD_SHED_MAX_IN_FLIGHT' | 'LOAD_SHED_MAX_WAIT_MS'>;

// Segment's endpoints (src/segment/) too: its SDKs retry a 503.
const SHED_ROUTES = new Set(['/track', '/batch', '/v1/batch', ...SEGMENT_TYPES.map((type) => `/v1/${type}`)]);
/** Seconds a shed client should wait: the overload is gone or nginx sends it to a replica that has room. */
const RETRY_AFTER_S = 1;

/** An onRequest hook that sheds the event routes past the configured limits. */
export function loadShedHook(config: LoadShedConfig) {
  const maxInFlight = config.LOAD_SHED_MAX_IN_FLIGHT;
  const maxWaitMs = config.LOAD_SHED_MAX_WAIT_MS;
  let inFlight = 0;
  const release = () => {
    inFlight--;
  };
  /** Why this request is shed, or undefined. */
  const overloaded = (request: FastifyRequest): string | undefined => {
    if (maxInFlight > 0 && inFlight >= maxInFlight) return `${inFlight} requests in flight (limit ${maxInFlight})`;
    const forwardedAt = maxWaitMs > 0 ? parseRequestStart(request.headers['x-request-start']) : undefined;
    const waitedMs = forwardedAt === undefined ? 0 : nowMs() - forwardedAt;
    return waitedMs > maxWaitMs ? `it waited ${Math.round(waitedMs)} ms to be read (limit ${maxWaitMs} ms)` : undefined;
  };
  // A callback, not a promise, like the app's other hooks on the hot path; answering early means not calling done().
  return function loadShed(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    if (!SHED_ROUTES.has(request.routeOptions.url ?? '')) return done();
    const reason = overloaded(request);
    if (reason) {
      reply.header('retry-after', String(RETRY_AFTER_S));
      reply.code(API_ERRORS.overloaded.status)
        .send(errorBody('overloaded', `this replica is past capacity (${reason}); nothing was stored: retry after Retry-After seconds`));
      return;
    }
    inFlight++;
    // 'close' comes once per response, answered or cut off.
    reply.raw.once('close', release);
    done();
  };
}
