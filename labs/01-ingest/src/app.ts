import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import proxyAddr from '@fastify/proxy-addr';
import rateLimit from '@fastify/rate-limit';
import type { Config } from '../../../shared/config.js';
import { createApiMetrics, metricsContentType, type ApiMetrics } from '../../../shared/metrics.js';
import { nowMs, parseRequestStart, formatSpans, type Spans } from '../../../shared/trace.js';
import { ApiError, API_ERRORS, errorBody, type ApiErrorCode } from './errors.js';
import { checkEvent } from './check-event.js';
import { encodeBatch, publishBatch, sortBatch } from './batch.js';
import { decodedBody, registerJsonParser, type BodyFacts } from './request-body.js';
import { httpObserver, requestLog } from './request-metrics.js';
import { clientIp } from './client-ip.js';
import { lazyChildLogger } from './lazy-logger.js';
import { batchEventIdFromEdgeRequestId, eventIdFromEdgeRequestId, isEdgeRequestId } from './event-ids.js';
import { enrich } from './enrich.js';
import { EventBudget } from './event-budget.js';
import { KafkaUnavailableError, type EventPublisher } from './publisher.js';
import { EventEncodeError, type EventCodec } from './event-codec.js';
import { peerGuard, writeKeyGuard, type Authenticate } from './edge-guards.js';
import { customerLimitHook, customerLimitSettings, type CustomerRateLimit } from './customer-limit.js';
import { loadShedHook, type LoadShedConfig } from './load-shed.js';
import { registerSegmentRoutes } from './segment/routes.js';
import { installFaultPoint } from './fault-point.js';

export { eventIdFromEdgeRequestId, batchEventIdFromEdgeRequestId } from './event-ids.js';

type AppConfig = Pick<Config,
  'KAFKA_TOPIC' | 'RATE_LIMIT_MAX' | 'RATE_LIMIT_WINDOW_MS' | 'BODY_LIMIT_BYTES' | 'TRUST_PROXY' | 'API_INSTANCE_ID' | 'LOG_LEVEL'
  | 'BATCH_MAX_EVENTS' | 'BATCH_BODY_LIMIT_BYTES' | 'BATCH_RATE_LIMIT_EVENTS'> & LoadShedConfig;

/** What the routes need of the sink: publish (resolves on the broker's ack) and readiness. */
export type Publisher = Pick<EventPublisher, 'publish' | 'ready'>;

/** "minute", "30 seconds", "1500 ms": the rate-limit window in words. */
function describeWindow(ms: number): string {
  if (ms === 60_000) return 'minute';
  if (ms % 60_000 === 0) return `${ms / 60_000} minutes`;
  if (ms % 1000 === 0) return `${ms / 1000} seconds`;
  return `${ms} ms`;
}

function sendError(reply: FastifyReply, code: ApiErrorCode, message: string, extra: Record<string, unknown> = {}) {
  return reply.code(API_ERRORS[code].status).send(errorBody(code, message, extra));
}

/**
 * The ingest API: POST /track validates, enriches and publishes one CRM event, POST /batch up to
 * BATCH_MAX_EVENTS of them, each answering 202 only after Kafka acked what it accepted.
 */
export async function buildApp(
  config: AppConfig,
  publisher: Publisher,
  logger?: FastifyBaseLogger,
  /**
   * `metrics`: Prometheus metrics served at GET /metrics; a fresh registry of its own by default.
   * `codec`: how /track checks and encodes events (lab 05: Avro via a schema registry); default JSON.
   * Lab 07, each off unless given: `allowedPeers` (only these addresses may call, e.g. nginx's
   * proxy_bind), `authenticate` (write keys on /track and /batch), `customerRateLimit` (a Redis-backed
   * limit per customer, in place of /track's per-IP one).
   */
  options: {
    metrics?: ApiMetrics; codec?: EventCodec;
    allowedPeers?: string[]; authenticate?: Authenticate; customerRateLimit?: CustomerRateLimit;
  } = {},
): Promise<FastifyInstance> {
  const { codec, customerRateLimit } = options;
  const metrics = options.metrics ?? createApiMetrics();
  const isTrustedProxy = proxyAddr.compile(config.TRUST_PROXY.split(',').map((a) => a.trim()));
  // Asked two or three times a request; nginx's keep-alive connections make the answer per socket worth keeping.
  const trustedSockets = new WeakMap<object, boolean>();
  const fromTrustedProxy = (socket: { remoteAddress?: string }) => {
    let trusted = trustedSockets.get(socket);
    if (trusted === undefined) trustedSockets.set(socket, trusted = isTrustedProxy(socket.remoteAddress ?? '', 0));
    return trusted;
  };
  const topic = config.KAFKA_TOPIC;
  const batchBudget = new EventBudget(config.BATCH_RATE_LIMIT_EVENTS, config.RATE_LIMIT_WINDOW_MS);
  // Per request: trace spans (epoch ms), what the body parser saw (only when the body was not UTF-8), the gzip stream.
  const spans = new WeakMap<object, Spans>();
  const bodyFacts = new WeakMap<object, BodyFacts>();
  const bodyStreams = new WeakMap<object, Readable>();
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: { level: config.LOG_LEVEL } }),
    // Fastify's two lines per request (received, completed) cost a replica more CPU than validating
    // the event; requestLog() below writes one line per refused or failed request, and every request at debug.
    logController: new LogController({ disableRequestLogging: true }),
    // A request's child logger is made only when it logs (lazy-logger.ts).
    childLoggerFactory: lazyChildLogger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    // nginx's X-Request-Id becomes the request id only when nginx sent it: a direct client's
    // header would otherwise name its request (and the event ids derived from it) as it likes.
    requestIdHeader: false,
    genReqId: (raw) => {
      const header = raw.headers['x-request-id'];
      return fromTrustedProxy(raw.socket) && isEdgeRequestId(header) ? header : randomUUID();
    },
  });

  // Only JSON bodies are events; anything else gets a 415 rather than a confusing 400.
  app.removeContentTypeParser('text/plain');
  // JSON read as bytes: UTF-8 checked in one native call, then Fastify's own parser.
  registerJsonParser(app, bodyFacts);

  // gzip: the parser reads the inflated stream, limited to the route's bodyLimit; a plain body is read as it came.
  // (Hooks on the hot path take a callback rather than returning a promise: one allocation fewer per hook and request.)
  app.addHook('preParsing', (request, _reply, payload, done) => {
    let decoded: Readable;
    try {
      decoded = decodedBody(payload, request.headers['content-encoding']);
    } catch (error) {
      return done(error as Error);
    }
    if (decoded !== payload) bodyStreams.set(request, decoded);
    done(null, decoded);
  });

  // Trace: when the request arrived; every answer names the replica.
  app.addHook('onRequest', (request, reply, done) => {
    spans.set(request, { api_received: nowMs() });
    reply.header('x-api-instance', config.API_INSTANCE_ID);
    done();
  });
  // Past capacity, /track and /batch are answered 503 `overloaded` at once, before their body is read.
  app.addHook('onRequest', loadShedHook(config));
  // Tests only: FAULT_POINT in this process's environment places a crash (fault-point.ts); none by default.
  installFaultPoint(app);
  // Lab 07: who may call, then whose key it is (in this order: a stranger learns nothing about keys).
  if (options.allowedPeers) app.addHook('onRequest', peerGuard(options.allowedPeers));
  if (options.authenticate) app.addHook('onRequest', writeKeyGuard(options.authenticate));
  const observe = httpObserver(metrics);
  app.addHook('onResponse', (request, reply, done) => {
    bodyStreams.get(request)?.destroy(); // a body cut off at its limit is not inflated further
    observe(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime);
    requestLog(request, reply);
    done();
  });

  app.get('/metrics', async (_request, reply) => reply.type(metricsContentType).send(await metrics.registry.metrics()));

  app.setNotFoundHandler((request, reply) => sendError(reply, 'not_found', `no route for ${request.method} ${request.url.split('?')[0]}`));

  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    if (error instanceof ApiError) return sendError(reply, error.code, error.message, error.extra);
    // #region solution 01:validation-400 — Answer what Fastify refuses before the route runs (bad JSON, empty body, wrong media type, too large) as JSON 4xx with a reason
    // hint: Branch on Fastify's `error.code`, not on status ranges: FST_ERR_CTP_INVALID_JSON_BODY, FST_ERR_CTP_EMPTY_JSON_BODY, FST_ERR_CTP_INVALID_MEDIA_TYPE, FST_ERR_CTP_BODY_TOO_LARGE, FST_ERR_CTP_INVALID_CONTENT_LENGTH.
    // hint: Each maps to a code of src/errors.ts: invalid_request (400), unsupported_media_type (415), payload_too_large (413); `sendError(reply, code, message)` sends `{error, message}` with the table's status.
    // hint: Whatever else Fastify marks 400 (`error.statusCode === 400`, e.g. a malformed URL) stays an `invalid_request`; only then is it a bug (log it, 500 internal_error).
    // stub: request.log.error({ err: error }, 'unhandled error');
    // stub: return sendError(reply, 'internal_error', `TODO(lab 01): answer ${error.code ?? 'this error'} as a JSON 4xx with a reason`);
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, 'payload_too_large', `request body exceeds ${request.routeOptions.bodyLimit ?? config.BODY_LIMIT_BYTES} bytes (after gzip decompression)`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(reply, 'unsupported_media_type', 'send the event as Content-Type: application/json');
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, 'invalid_request', 'request body is empty; send a JSON CRM event');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return sendError(reply, 'invalid_request', `request body is not valid JSON: ${error.message}`);
    }
    // Any other error Fastify marks as the client's (e.g. a malformed URL) stays a 400.
    if (error.statusCode === 400) return sendError(reply, 'invalid_request', error.message);
    request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, 'internal_error', 'unexpected server error');
    // #endregion solution
  });

  await app.register(rateLimit, customerRateLimit
    ? customerLimitSettings(customerRateLimit, metrics, describeWindow(customerRateLimit.timeWindowMs))
    : {
      global: false,
      keyGenerator: clientIp,
      onExceeded: () => metrics.rateLimited.inc({ source: 'api' }),
      errorResponseBuilder: (_request, context) => new ApiError('rate_limited',
        `rate limit of ${context.max} requests per ${describeWindow(config.RATE_LIMIT_WINDOW_MS)} per client IP exceeded; retry in ${context.after}`),
    });
  // Lab 07: one budget per customer over /track, /batch and Segment's /v1 (whose routes name the
  // customer in their own hook, so they run it after); nginx keeps limiting per IP.
  const customerLimit = customerRateLimit ? customerLimitHook(app, customerRateLimit, metrics) : undefined;
  if (customerLimit) app.addHook('onRequest', customerLimit);

  app.get('/health', async () => ({ status: 'ok', instance: config.API_INSTANCE_ID }));

  app.get('/ready', async (_request, reply) =>
    publisher.ready
      ? { status: 'ready', instance: config.API_INSTANCE_ID }
      : sendError(reply, 'not_ready', 'Kafka producer is not connected or its last write failed'),
  );

  /** The request's spans so far, with nginx's stamp when it came through nginx. */
  function traceOf(request: { headers: Record<string, unknown> } & object): Spans {
    const trace = spans.get(request) ?? { api_received: nowMs() };
    trace.api_validated = nowMs();
    const nginxReceived = parseRequestStart(request.headers['x-request-start'] as string | undefined);
    if (nginxReceived !== undefined) trace.nginx_received = nginxReceived;
    return trace;
  }

  app.post(
    '/track',
    { config: { rateLimit: customerRateLimit ? false : { max: config.RATE_LIMIT_MAX, timeWindow: config.RATE_LIMIT_WINDOW_MS } } },
    async (request, reply) => {
      if (request.body === undefined || request.body === null) {
        return sendError(reply, 'invalid_request', 'request body is empty; send a JSON CRM event');
      }
      const facts = bodyFacts.get(request);
      const check = checkEvent(request.body, { nowMs: Date.now(), invalidUtf8: facts?.invalidUtf8 ?? false, inexactNumbers: facts?.inexactNumbers, duplicateKeys: facts?.duplicateKeys, schema: codec?.bodySchema });
      if (!check.ok) return sendError(reply, 'validation_failed', check.message, { issues: check.issues });
      const trace = traceOf(request);
      const derivedId = fromTrustedProxy(request.socket) ? eventIdFromEdgeRequestId(request.headers['x-request-id']) : undefined;
      const event = enrich(check.event, request, derivedId);
      let value: Buffer | undefined;
      try {
        value = await codec?.encode(event);
      } catch (error) {
        if (!(error instanceof EventEncodeError)) throw error;
        // A misfit is the client's to fix (no event_id: nothing was accepted); a registry outage is retryable.
        if (error.status === 400) return sendError(reply, error.code, error.message);
        reply.header('retry-after', '1');
        return sendError(reply, error.code, error.message, { event_id: event.event_id });
      }
      // #region solution 01:ack-before-202 — Publish the event and answer 202 only after Kafka acked it; 503 with Retry-After when it did not
      // hint: A 202 is a promise that the event is stored: answer only once the broker acked it (acks=all). `publisher.publish` returns a promise that resolves on that ack and rejects when there was none.
      // hint: Only a KafkaUnavailableError means "not acked": answer 503 `kafka_unavailable` with a `retry-after: 1` header and the event_id, so the client retries with the same id. Re-throw anything else (a bug answers 500).
      // hint: The 202's body is `{ status: 'accepted', event_id }`; stamp `trace.api_produce_start` / `api_acked` around the publish and observe `metrics.produceDuration` (or, for a KafkaUnavailableError only, count `metrics.produceFailures`: a bug is not the broker's failure).
      // hint: The call: `await publisher.publish(event, { request_id: event.request_id!, trace: formatSpans(trace) }, value)` (the headers carry the request id and the trace to the worker).
      try {
        trace.api_produce_start = nowMs();
        await publisher.publish(event, { request_id: event.request_id!, trace: formatSpans(trace) }, value);
        trace.api_acked = nowMs();
        metrics.produceDuration.observe({ topic }, (trace.api_acked - trace.api_produce_start) / 1000);
      } catch (error) {
        // Only what Kafka did not ack is a produce failure; anything else is a bug (500), not the broker's.
        if (!(error instanceof KafkaUnavailableError)) throw error;
        metrics.produceFailures.inc({ topic });
        request.log.warn({ err: error, event_id: event.event_id }, 'event not acked by Kafka');
        reply.header('retry-after', '1');
        return sendError(reply, 'kafka_unavailable', `${error.message}; the event was not accepted, retry with the same event_id`, { event_id: event.event_id });
      }
      request.log.debug({ request_id: event.request_id, event_id: event.event_id, spans: trace }, 'trace');
      return reply.code(202).header('x-trace-spans', formatSpans(trace)).send({ status: 'accepted', event_id: event.event_id });
      // #endregion solution
    },
  );

  app.post('/batch', { bodyLimit: config.BATCH_BODY_LIMIT_BYTES }, async (request, reply) => {
    // Lab 05 encodes through a registry one event at a time; a batch would need its per-event
    // registry failures reported next to Kafka's, which /batch's answer has no place for yet.
    // A batchable codec (lab 07's PII sealing) encodes each event on its own.
    if (codec && !codec.batchable) return sendError(reply, 'not_found', 'this API writes Avro (lab 05) and serves POST /track only; send each event to /track');
    const body = request.body;
    if (!Array.isArray(body)) {
      return sendError(reply, 'invalid_request', 'send a JSON array of CRM events');
    }
    if (body.length === 0) return sendError(reply, 'invalid_request', 'the batch is empty');
    if (body.length > config.BATCH_MAX_EVENTS) {
      return sendError(reply, 'payload_too_large', `the batch has ${body.length} events; at most ${config.BATCH_MAX_EVENTS}`);
    }
    // Counted in events, before validation: a batch costs what it asks the API to look at.
    const budget = batchBudget.take(clientIp(request), body.length);
    if (!budget.ok) {
      metrics.rateLimited.inc({ source: 'api' });
      reply.header('retry-after', String(budget.retryAfterS));
      return sendError(reply, 'rate_limited',
        `rate limit of ${config.BATCH_RATE_LIMIT_EVENTS} batched events per ${describeWindow(config.RATE_LIMIT_WINDOW_MS)} per client IP: ${budget.remaining} left, the batch has ${body.length}; retry in ${budget.retryAfterS} seconds`);
    }

    const trusted = fromTrustedProxy(request.socket);
    const facts = bodyFacts.get(request);
    const sorted = sortBatch(body, { nowMs: Date.now(), invalidUtf8: facts?.invalidUtf8 ?? false, inexactNumbers: facts?.inexactNumbers, duplicateKeys: facts?.duplicateKeys, schema: codec?.bodySchema },
      (event, index) => enrich(event, request, trusted ? batchEventIdFromEdgeRequestId(request.headers['x-request-id'], index) : undefined));
    const encoded = codec ? await encodeBatch(sorted.valid, (event) => codec.encode(event)) : undefined;
    const valid = encoded?.encodable ?? sorted.valid;
    const rejected = [...sorted.rejected, ...(encoded?.rejected ?? [])].sort((a, b) => a.index - b.index);
    if (valid.length === 0) {
      return sendError(reply, 'validation_failed', `none of the ${body.length} events is valid`, { rejected });
    }

    const trace = traceOf(request);
    trace.api_produce_start = nowMs();
    const headers = { request_id: String(request.id), trace: formatSpans(trace) };
    const { acked, notAcked, bug } = await publishBatch(valid, async (event) => publisher.publish(event, headers, await encoded?.values.get(event)));
    trace.api_acked = nowMs();
    // Each acked event waited for the whole batch.
    for (let i = 0; i < acked.length; i++) metrics.produceDuration.observe({ topic }, (trace.api_acked - trace.api_produce_start) / 1000);
    if (notAcked.length) metrics.produceFailures.inc({ topic }, notAcked.length);
    if (notAcked.length === 0) {
      return reply.code(202).header('x-trace-spans', formatSpans(trace)).send({ status: 'accepted', accepted: acked, rejected });
    }
    const details = { accepted: acked, not_acked: notAcked, rejected };
    const summary = `${notAcked.length} of ${valid.length} valid events were not acked (listed in not_acked); the ${acked.length} in accepted are stored`;
    if (bug !== undefined) {
      request.log.error({ err: bug }, 'batch publish failed');
      return sendError(reply, 'internal_error', `${summary}; retry the others with the same event_ids`, details);
    }
    request.log.warn({ not_acked: notAcked.length }, 'batch events not acked by Kafka');
    reply.header('retry-after', '1');
    return sendError(reply, 'kafka_unavailable', `${summary}; Kafka did not ack the rest: retry them with the same event_ids`, details);
  });

  // Segment's HTTP Tracking API, POST /v1/track, /v1/identify and /v1/batch (src/segment/); not on lab 05's Avro API.
  if (!codec || codec.batchable) {
    registerSegmentRoutes(app, { config, publisher, metrics, bodyFacts, codec, authenticate: options.authenticate, customerLimit, fromTrustedProxy });
  }

  return app;
}
