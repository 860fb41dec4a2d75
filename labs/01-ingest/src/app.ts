import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import proxyAddr from '@fastify/proxy-addr';
import rateLimit from '@fastify/rate-limit';
import type { Config } from '../../../shared/config.js';
import { createApiMetrics, metricsContentType, type ApiMetrics } from '../../../shared/metrics.js';
import { nowMs, parseRequestStart, formatSpans, type Spans } from '../../../shared/trace.js';
import { CRMEvent, describeIssues, type EnrichedEvent } from '../../../shared/schema.js';
import { KafkaUnavailableError, type EventPublisher } from './publisher.js';
import { EventEncodeError, type EventCodec } from './event-codec.js';

type AppConfig = Pick<Config, 'KAFKA_TOPIC' | 'RATE_LIMIT_MAX' | 'RATE_LIMIT_WINDOW_MS' | 'BODY_LIMIT_BYTES' | 'TRUST_PROXY' | 'API_INSTANCE_ID' | 'LOG_LEVEL'>;

/** "minute", "30 seconds", "1500 ms": the rate-limit window in words. */
function describeWindow(ms: number): string {
  if (ms === 60_000) return 'minute';
  if (ms % 60_000 === 0) return `${ms / 60_000} minutes`;
  if (ms % 1000 === 0) return `${ms / 1000} seconds`;
  return `${ms} ms`;
}

/** Error bodies are always `{ error, message }`, so a client can show the reason. */
function errorBody(error: string, message: string, extra: Record<string, unknown> = {}) {
  return { error, message, ...extra };
}

/**
 * nginx's `$request_id` (32 hex digits, the same on every upstream it tries for one request) as
 * a UUID (version 4, RFC variant). It is the event's id when the client sent none, so that if
 * nginx re-sends a POST to another replica after the first one died, both copies share their
 * event_id and the workers keep one. Only believed from a trusted proxy.
 */
export function eventIdFromEdgeRequestId(requestId: unknown): string | undefined {
  if (typeof requestId !== 'string' || !/^[0-9a-f]{32}$/.test(requestId)) return undefined;
  const variant = ((parseInt(requestId[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${requestId.slice(0, 8)}-${requestId.slice(8, 12)}-4${requestId.slice(13, 16)}-${variant}${requestId.slice(17, 20)}-${requestId.slice(20)}`;
}

/**
 * The ingest API: POST /track validates, enriches and publishes one CRM event,
 * answering 202 only after Kafka acked it.
 */
export async function buildApp(
  config: AppConfig,
  publisher: EventPublisher,
  logger?: FastifyBaseLogger,
  /**
   * `metrics`: Prometheus metrics served at GET /metrics; a fresh registry of its own by default.
   * `codec`: how events are checked and encoded (lab 05: Avro via a schema registry); default JSON.
   */
  options: { metrics?: ApiMetrics; codec?: EventCodec } = {},
): Promise<FastifyInstance> {
  const metrics = options.metrics ?? createApiMetrics();
  const isTrustedProxy = proxyAddr.compile(config.TRUST_PROXY.split(',').map((a) => a.trim()));
  const topic = config.KAFKA_TOPIC;
  // Trace spans of each request (epoch ms), keyed by the request object.
  const spans = new WeakMap<object, Spans>();
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: { level: config.LOG_LEVEL } }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
  });

  // Only JSON bodies are events; anything else gets a 415 rather than a confusing 400.
  app.removeContentTypeParser('text/plain');

  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-api-instance', config.API_INSTANCE_ID);
  });

  // Metrics and trace: when the request arrived, and what it was answered.
  app.addHook('onRequest', async (request) => {
    spans.set(request, { api_received: nowMs() });
  });
  app.addHook('onResponse', async (request, reply) => {
    const labels = { route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
  });

  app.get('/metrics', async (_request, reply) => reply.type(metricsContentType).send(await metrics.registry.metrics()));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status === 413) {
      return reply.code(413).send(errorBody('payload_too_large', `request body exceeds ${config.BODY_LIMIT_BYTES} bytes`));
    }
    if (status === 415) {
      return reply.code(415).send(errorBody('unsupported_media_type', 'send the event as Content-Type: application/json'));
    }
    if (status === 429) {
      return reply.code(429).send(errorBody('rate_limited', error.message));
    }
    if (status >= 400 && status < 500) {
      return reply.code(status).send(errorBody('invalid_request', `request body is not valid JSON: ${error.message}`));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send(errorBody('internal_error', 'unexpected server error'));
  });

  await app.register(rateLimit, {
    global: false,
    keyGenerator: (request) => request.ip,
    onExceeded: () => metrics.rateLimited.inc({ source: 'api' }),
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      message: `rate limit of ${context.max} requests per ${describeWindow(config.RATE_LIMIT_WINDOW_MS)} per client IP exceeded; retry in ${context.after}`,
    }),
  });

  app.get('/health', async () => ({ status: 'ok', instance: config.API_INSTANCE_ID }));

  app.get('/ready', async (_request, reply) =>
    publisher.ready
      ? { status: 'ready', instance: config.API_INSTANCE_ID }
      : reply.code(503).send(errorBody('not_ready', 'Kafka producer is not connected or its last write failed')),
  );

  app.post(
    '/track',
    { config: { rateLimit: { max: config.RATE_LIMIT_MAX, timeWindow: config.RATE_LIMIT_WINDOW_MS } } },
    async (request, reply) => {
      if (request.body === undefined || request.body === null) {
        return reply.code(400).send(errorBody('invalid_request', 'request body is empty; send a JSON CRM event'));
      }
      const parsed = (options.codec?.bodySchema ?? CRMEvent).safeParse(request.body);
      if (!parsed.success) {
        const { message, issues } = describeIssues(parsed.error);
        return reply.code(400).send(errorBody('validation_failed', message, { issues }));
      }
      const trace = spans.get(request) ?? { api_received: nowMs() };
      trace.api_validated = nowMs();
      const nginxReceived = parseRequestStart(request.headers['x-request-start']);
      if (nginxReceived !== undefined) trace.nginx_received = nginxReceived;
      const event: EnrichedEvent = {
        ...parsed.data,
        event_id: parsed.data.event_id
          ?? (isTrustedProxy(request.socket.remoteAddress ?? '', 0) ? eventIdFromEdgeRequestId(request.headers['x-request-id']) : undefined)
          ?? randomUUID(),
        server_timestamp: new Date().toISOString(),
        client_ip: request.ip,
        request_id: String(request.id),
      };
      let value: Buffer | undefined;
      try {
        value = await options.codec?.encode(event);
      } catch (error) {
        if (!(error instanceof EventEncodeError)) throw error;
        if (error.status === 400) return reply.code(400).send(errorBody(error.code, error.message));
        return reply.code(503).header('retry-after', '1').send(errorBody(error.code, error.message, { event_id: event.event_id }));
      }
      try {
        trace.api_produce_start = nowMs();
        await publisher.publish(event, { request_id: event.request_id!, trace: formatSpans(trace) }, value);
        trace.api_acked = nowMs();
        metrics.produceDuration.observe({ topic }, (trace.api_acked - trace.api_produce_start) / 1000);
      } catch (error) {
        metrics.produceFailures.inc({ topic });
        if (!(error instanceof KafkaUnavailableError)) throw error;
        request.log.warn({ err: error, event_id: event.event_id }, 'event not acked by Kafka');
        return reply
          .code(503)
          .header('retry-after', '1')
          .send(errorBody('kafka_unavailable', `${error.message}; the event was not accepted, retry with the same event_id`, { event_id: event.event_id }));
      }
      request.log.debug({ request_id: event.request_id, event_id: event.event_id, spans: trace }, 'trace');
      return reply.code(202).header('x-trace-spans', formatSpans(trace)).send({ status: 'accepted', event_id: event.event_id });
    },
  );

  return app;
}
