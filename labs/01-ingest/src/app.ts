import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Config } from '../../../shared/config.js';
import { CRMEvent, describeIssues, type EnrichedEvent } from '../../../shared/schema.js';
import { KafkaUnavailableError, type EventPublisher } from './publisher.js';

type AppConfig = Pick<Config, 'RATE_LIMIT_MAX' | 'RATE_LIMIT_WINDOW_MS' | 'BODY_LIMIT_BYTES' | 'TRUST_PROXY' | 'API_INSTANCE_ID' | 'LOG_LEVEL'>;

/** Error bodies are always `{ error, message }`, so a client can show the reason. */
function errorBody(error: string, message: string, extra: Record<string, unknown> = {}) {
  return { error, message, ...extra };
}

/**
 * The ingest API: POST /track validates, enriches and publishes one CRM event,
 * answering 202 only after Kafka acked it.
 */
export async function buildApp(config: AppConfig, publisher: EventPublisher, logger?: FastifyBaseLogger): Promise<FastifyInstance> {
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
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      message: `rate limit of ${context.max} requests per ${context.after === '1 minute' ? 'minute' : `${config.RATE_LIMIT_WINDOW_MS} ms`} per client IP exceeded; retry in ${context.after}`,
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
      const parsed = CRMEvent.safeParse(request.body);
      if (!parsed.success) {
        const { message, issues } = describeIssues(parsed.error);
        return reply.code(400).send(errorBody('validation_failed', message, { issues }));
      }
      const event: EnrichedEvent = {
        ...parsed.data,
        event_id: parsed.data.event_id ?? randomUUID(),
        server_timestamp: new Date().toISOString(),
        client_ip: request.ip,
        request_id: String(request.id),
      };
      try {
        await publisher.publish(event);
      } catch (error) {
        if (!(error instanceof KafkaUnavailableError)) throw error;
        request.log.warn({ err: error, event_id: event.event_id }, 'event not acked by Kafka');
        return reply
          .code(503)
          .header('retry-after', '1')
          .send(errorBody('kafka_unavailable', `${error.message}; the event was not accepted, retry with the same event_id`, { event_id: event.event_id }));
      }
      return reply.code(202).send({ status: 'accepted', event_id: event.event_id });
    },
  );

  return app;
}
