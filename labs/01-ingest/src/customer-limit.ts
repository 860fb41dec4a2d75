/**
 * Lab 07's per-customer limit: @fastify/rate-limit counting in Redis, keyed by the write key's
 * customer, so every replica behind nginx draws on one budget per customer. What happens when
 * Redis cannot be asked is a decision (`skipOnError`), counted in rate_limit_store_errors_total.
 */
import type { FastifyInstance, FastifyRequest, FastifyReply } from 'fastify';
import type { RateLimitPluginOptions } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { ApiMetrics } from '../../../shared/metrics.js';
import { ApiError } from './errors.js';
import { customerOf } from './request-customer.js';

export interface CustomerRateLimit {
  /** The shared store; give it a short commandTimeout and no offline queue, so an outage fails fast. */
  redis: Redis;
  max: number;
  timeWindowMs: number;
  /**
   * When Redis fails: true lets the request through uncounted (fail-open), false refuses it with
   * a retryable 429 (fail-closed). Never a 5xx: an outage of the limiter is not a broken request.
   */
  skipOnError: boolean;
}

/** The plugin's settings for the customer limit: Redis store, customer key. */
export function customerLimitSettings(limit: CustomerRateLimit, metrics: ApiMetrics, window: string): RateLimitPluginOptions {
  return {
    global: false,
    redis: limit.redis,
    nameSpace: 'crm-customer-limit:',
    max: limit.max,
    timeWindow: limit.timeWindowMs,
    // Decided below (customerLimitHook), where a store error can be counted; the plugin would hide it.
    skipOnError: false,
    keyGenerator: (request) => customerOf(request) ?? '',
    onExceeded: () => metrics.rateLimited.inc({ source: 'api' }),
    errorResponseBuilder: (_request, context) => new ApiError('rate_limited',
      `rate limit of ${context.max} requests per ${window} per customer exceeded; retry in ${context.after}`),
  };
}

/** The onRequest hook that applies the limit to every request a write key named a customer for. */
export function customerLimitHook(app: FastifyInstance, limit: CustomerRateLimit, metrics: ApiMetrics) {
  const check = app.rateLimit();
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (customerOf(request) === undefined) return;
    try {
      await check.call(app, request, reply);
    } catch (error) {
      if (error instanceof ApiError) throw error; // over the limit: the 429 built above
      metrics.rateLimitStoreErrors.inc({ outcome: limit.skipOnError ? 'allowed' : 'refused' });
      request.log.warn({ err: error, customer_id: customerOf(request) }, 'per-customer limit not checked: store unreachable');
      if (limit.skipOnError) return;
      reply.header('retry-after', '1');
      throw new ApiError('rate_limited', 'the per-customer limit could not be checked (limit store unreachable); retry in 1 second');
    }
  };
}
