/**
 * Segment's HTTP Tracking API on the ingest API: POST /v1/track, /v1/identify, /v1/page, /v1/screen,
 * /v1/group, /v1/alias and /v1/batch, so a team's existing Segment SDK can point its `host` at the
 * lab. Each message is mapped onto a CRM
 * event (map-message.ts) and published like /batch's events; the answer, Segment's 200
 * `{"success":true}`, comes only after Kafka acked every event of the request.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../../../shared/config.js';
import type { ApiMetrics } from '../../../../shared/metrics.js';
import { parseInstant, type EnrichedEvent, type Issue } from '../../../../shared/schema.js';
import { encodeBatch, publishBatch, type RejectedEvent } from '../batch.js';
import { replacedTextFields } from '../check-event.js';
import { clientIp } from '../client-ip.js';
import type { Authenticate } from '../edge-guards.js';
import { enrich } from '../enrich.js';
import { API_ERRORS, errorBody, type ApiErrorCode } from '../errors.js';
import { EventBudget } from '../event-budget.js';
import type { EventCodec } from '../event-codec.js';
import { batchEventIdFromEdgeRequestId, eventIdFromEdgeRequestId } from '../event-ids.js';
import type { EventPublisher } from '../publisher.js';
import type { BodyFacts } from '../request-body.js';
import { SEGMENT_REQUEST_MAX_BYTES } from './limits.js';
import { mapSegmentMessage, SEGMENT_TYPES, type SegmentType } from './map-message.js';
import { segmentWriteKeyHook, writeKeyOf } from './write-key.js';

export interface SegmentRouteDeps {
  config: Pick<Config, 'KAFKA_TOPIC' | 'RATE_LIMIT_MAX' | 'RATE_LIMIT_WINDOW_MS' | 'BATCH_RATE_LIMIT_EVENTS'>;
  publisher: Pick<EventPublisher, 'publish'>;
  metrics: ApiMetrics;
  /** What the JSON parser learnt of each body: invalid UTF-8, numbers a double cannot hold (request-body.ts). */
  bodyFacts: WeakMap<object, BodyFacts>;
  /** Lab 07's PII sealing (batchable); lab 05's Avro codec is not, and gets no /v1 routes. */
  codec?: EventCodec | undefined;
  /** Lab 07's write keys; without them the default key (write-key.ts). */
  authenticate?: Authenticate | undefined;
  /** Lab 07's per-customer limit (an onRequest hook), in place of the per-IP ones as on /track; run once the write key named the customer. */
  customerLimit?: ((request: FastifyRequest, reply: FastifyReply) => Promise<void>) | undefined;
  fromTrustedProxy(socket: object): boolean;
}

const BATCH_ENVELOPE_KEYS = new Set(['batch', 'sentAt', 'writeKey']);

/** What the JSON parser could not keep as sent (request-body.ts): numbers a double cannot hold, keys written twice. */
function parserFindings(facts: BodyFacts | undefined): { path: (string | number)[]; text: string; reason: string }[] {
  return [...facts?.inexactNumbers ?? [], ...facts?.duplicateKeys ?? []];
}

function sendError(reply: FastifyReply, code: ApiErrorCode, message: string, extra: Record<string, unknown> = {}) {
  return reply.code(API_ERRORS[code].status).send(errorBody(code, message, extra));
}

/** Over 500 KB (after gzip) is Segment's 400; any other error goes on to the app's handler. */
function segmentErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  if (error.code !== 'FST_ERR_CTP_BODY_TOO_LARGE') throw error;
  return sendError(reply, 'segment_too_large', `request body exceeds Segment's limit of 500 KB (${SEGMENT_REQUEST_MAX_BYTES} bytes, after gzip decompression)`);
}

export function registerSegmentRoutes(app: FastifyInstance, deps: SegmentRouteDeps): void {
  const { config, metrics } = deps;
  const topic = config.KAFKA_TOPIC;
  const batchBudget = new EventBudget(config.BATCH_RATE_LIMIT_EVENTS, config.RATE_LIMIT_WINDOW_MS);
  const writeKeyHook = segmentWriteKeyHook(deps.authenticate);
  const routeOptions = { bodyLimit: SEGMENT_REQUEST_MAX_BYTES, errorHandler: segmentErrorHandler,
    onRequest: deps.customerLimit ? [writeKeyHook, deps.customerLimit] : writeKeyHook };
  const perRequestLimit = { rateLimit: deps.customerLimit ? false as const : { max: config.RATE_LIMIT_MAX, timeWindow: config.RATE_LIMIT_WINDOW_MS } };

  /** Maps, validates, publishes; one refused message refuses the request (the SDK reads only the status). */
  async function ingest(request: FastifyRequest, reply: FastifyReply, messages: unknown[], o: { routeType?: SegmentType; batchSentAt?: unknown; pathPrefix: (index: number) => (string | number)[] }) {
    const receivedAtMs = Date.now();
    const writeKey = writeKeyOf(request);
    const facts = deps.bodyFacts.get(request);
    const trusted = deps.fromTrustedProxy(request.socket);
    const rejected: RejectedEvent[] = [];
    const valid: { index: number; event: EnrichedEvent }[] = [];
    messages.forEach((message, index) => {
      const prefix = o.pathPrefix(index);
      const bodyIssues: Issue[] = [
        ...(facts?.invalidUtf8 ? replacedTextFields(message).map((path) => ({ path, message: 'is not valid UTF-8' })) : []),
        ...parserFindings(facts)
          .filter((n) => prefix.every((p, i) => n.path[i] === p))
          .map((n) => ({ path: n.path.slice(prefix.length).join('.') || '(message)', message: `${n.text} ${n.reason}` })),
      ];
      const mapped = mapSegmentMessage(message, { writeKey, receivedAtMs, routeType: o.routeType, batchSentAt: o.batchSentAt, schema: deps.codec?.bodySchema });
      const issues = [...bodyIssues, ...(mapped.ok ? [] : mapped.issues)];
      if (issues.length || !mapped.ok) {
        rejected.push({ index, reason: issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues });
        return;
      }
      // Without a messageId: nginx's request id (and the index), so a copy nginx re-sends is the same event.
      const derivedId = trusted ? (o.routeType ? eventIdFromEdgeRequestId(request.headers['x-request-id']) : batchEventIdFromEdgeRequestId(request.headers['x-request-id'], index)) : undefined;
      valid.push({ index, event: { ...enrich(mapped.event, request, derivedId), segment: mapped.segment } });
    });
    if (rejected.length) {
      return sendError(reply, 'validation_failed', `${rejected.length} of ${messages.length} messages are refused, so none is stored: ${rejected.map((r) => `[${r.index}] ${r.reason}`).join('; ')}`, { rejected });
    }

    const encoded = deps.codec ? await encodeBatch(valid, (event) => deps.codec!.encode(event)) : undefined;
    if (encoded?.rejected.length) {
      return sendError(reply, 'validation_failed', `${encoded.rejected.length} of ${messages.length} messages are refused, so none is stored`, { rejected: encoded.rejected });
    }
    const started = performance.now();
    const headers = { request_id: String(request.id) };
    const { acked, notAcked, bug } = await publishBatch(valid, async (event) => deps.publisher.publish(event, headers, await encoded?.values.get(event)));
    const seconds = (performance.now() - started) / 1000;
    for (let i = 0; i < acked.length; i++) metrics.produceDuration.observe({ topic }, seconds);
    if (notAcked.length === 0) return reply.code(200).send({ success: true });
    metrics.produceFailures.inc({ topic }, notAcked.length);
    const details = { accepted: acked, not_acked: notAcked };
    const summary = `${notAcked.length} of ${valid.length} events were not acked; resend the whole request: its messageIds make the copies of those already stored one event`;
    if (bug !== undefined) {
      request.log.error({ err: bug }, 'segment publish failed');
      return sendError(reply, 'internal_error', summary, details);
    }
    reply.header('retry-after', '1');
    return sendError(reply, 'kafka_unavailable', `Kafka did not ack: ${summary}`, details);
  }

  for (const routeType of SEGMENT_TYPES) {
    app.post(`/v1/${routeType}`, { ...routeOptions, config: perRequestLimit }, async (request, reply) => {
      if (request.body === undefined || request.body === null) return sendError(reply, 'invalid_request', `request body is empty; send a Segment ${routeType} message`);
      return ingest(request, reply, [request.body], { routeType, pathPrefix: () => [] });
    });
  }

  app.post('/v1/batch', routeOptions, async (request, reply) => {
    const body = request.body as Record<string, unknown> | null | undefined;
    if (body === null || typeof body !== 'object' || Array.isArray(body) || !Array.isArray(body.batch)) {
      return sendError(reply, 'invalid_request', 'send a JSON object {"batch": [messages…], "sentAt": "…"}, as Segment\'s SDKs do');
    }
    const unknown = Object.keys(body).filter((key) => !BATCH_ENVELOPE_KEYS.has(key));
    if (unknown.length) {
      return sendError(reply, 'invalid_request', `the batch's own ${unknown.map((k) => JSON.stringify(k)).join(', ')} is not taken (it would apply to every message): put it on each message`);
    }
    if (body.sentAt !== undefined && (typeof body.sentAt !== 'string' || parseInstant(body.sentAt) === undefined)) {
      return sendError(reply, 'validation_failed', 'sentAt: must be an ISO 8601 date-time with a time zone, e.g. 2026-11-25T10:00:00.000Z', { issues: [{ path: 'sentAt', message: 'must be an ISO 8601 date-time with a time zone' }] });
    }
    // Outside any message (a second "batch" key: JSON.parse kept the last and dropped the first).
    const envelope = parserFindings(deps.bodyFacts.get(request)).filter((n) => n.path[0] !== 'batch' || n.path.length < 2);
    if (envelope.length) {
      const issues = envelope.map((n) => ({ path: n.path.join('.') || '(body)', message: `${n.text} ${n.reason}` }));
      return sendError(reply, 'validation_failed', issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
    }
    const messages = body.batch as unknown[];
    if (messages.length === 0) return sendError(reply, 'invalid_request', 'the batch is empty');
    const budget = deps.customerLimit ? undefined : batchBudget.take(clientIp(request), messages.length);
    if (budget && !budget.ok) {
      metrics.rateLimited.inc({ source: 'api' });
      reply.header('retry-after', String(budget.retryAfterS));
      return sendError(reply, 'rate_limited', `rate limit of ${config.BATCH_RATE_LIMIT_EVENTS} batched events per window per client IP: ${budget.remaining} left, the batch has ${messages.length}; retry in ${budget.retryAfterS} seconds`);
    }
    return ingest(request, reply, messages, { batchSentAt: body.sentAt, pathPrefix: (index) => ['batch', index] });
  });
}
