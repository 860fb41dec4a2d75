/**
 * The replicas' client for the shared rate-limit store. Tuned to fail fast: a request must not
 * wait on Redis, so no offline queue (a command while disconnected fails at once), no retries of
 * a command, and a short command timeout; the connection itself keeps reconnecting.
 */
import { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';

export function createLimitStoreClient(url: string, commandTimeoutMs: number, log: Pick<FastifyBaseLogger, 'warn'>): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  });
  let lastWarned = 0;
  redis.on('error', (error) => {
    // Once a second at most: an outage would otherwise log every reconnect attempt.
    if (Date.now() - lastWarned < 1_000) return;
    lastWarned = Date.now();
    log.warn({ err: error }, 'rate-limit store (Redis) connection error');
  });
  return redis;
}

/** Resolves once connected, or after `timeoutMs` (then the limit runs on its store-error path until Redis is back). */
export function waitUntilReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
