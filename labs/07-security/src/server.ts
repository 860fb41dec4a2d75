/**
 * One API replica of lab 07 (`npm run api:secure`): lab 01's app behind its edge checks: only the
 * allowed peers (nginx) may call, /track and /batch need a write key, and each customer has one
 * request budget in Redis shared by all replicas; with PII_SEAL=on, PII fields are sealed before Kafka
 * (src/pii/). Settings: shared/config.ts plus settings.ts.
 */
import { pino } from 'pino';
import { loadConfig } from '../../../shared/config.js';
import { createKafka } from '../../../shared/kafka.js';
import { createApiMetrics, createRegistry } from '../../../shared/metrics.js';
import { onShutdownSignal } from '../../../shared/shutdown.js';
import { buildApp } from '../../01-ingest/src/app.js';
import { EventPublisher, publisherOptionsFrom } from '../../01-ingest/src/publisher.js';
import { piiCodecFromEnv } from './pii/pii-setup.js';
import { createLimitStoreClient, waitUntilReady } from './redis-client.js';
import { SecurityEnv } from './settings.js';
import { WriteKeyStore } from './write-keys.js';

const config = loadConfig();
const env = SecurityEnv.parse(process.env);
const log = pino({ level: config.LOG_LEVEL, base: { instance: config.API_INSTANCE_ID } });
const kafka = createKafka(config.kafkaBrokers, `${config.KAFKA_CLIENT_ID}-${config.API_INSTANCE_ID}`);
const metrics = createApiMetrics(createRegistry({ defaults: true, labels: { instance_id: config.API_INSTANCE_ID } }));
const publisher = new EventPublisher(kafka, { ...publisherOptionsFrom(config, log), onBatchSent: (events) => metrics.producerBatchEvents.observe(events) });

const keys = env.WRITE_KEYS ? new WriteKeyStore(env.WRITE_KEYS_DB) : undefined;
const redis = env.REDIS_URL ? createLimitStoreClient(env.REDIS_URL, env.REDIS_COMMAND_TIMEOUT_MS, log) : undefined;
if (redis && !keys) throw new Error('REDIS_URL needs WRITE_KEYS=on: the limit is per customer, and the write key names the customer');
if (redis && !(await waitUntilReady(redis, 5_000))) log.warn({ url: env.REDIS_URL }, 'Redis not reachable yet: the per-customer limit takes its store-error path until it is');

const pii = env.PII_SEAL ? piiCodecFromEnv() : undefined;

const app = await buildApp(config, publisher, log, {
  metrics,
  codec: pii?.codec,
  allowedPeers: env.allowedPeers,
  authenticate: keys && ((writeKey) => keys.customerOf(writeKey)),
  customerRateLimit: redis && {
    redis,
    max: env.CUSTOMER_RATE_LIMIT_MAX,
    timeWindowMs: env.CUSTOMER_RATE_LIMIT_WINDOW_MS,
    skipOnError: env.CUSTOMER_RATE_LIMIT_ON_STORE_ERROR === 'open',
  },
});
publisher.start().catch((error) => {
  log.fatal({ err: error }, 'cannot publish to this topic');
  process.exit(1);
});
await app.listen({ host: config.API_HOST, port: config.API_PORT });
log.info({ writeKeys: env.WRITE_KEYS, customerLimit: Boolean(redis), allowedPeers: env.allowedPeers ?? 'any', piiSealed: pii?.fields ?? [] }, 'lab 07 edge checks');

onShutdownSignal(async (signal) => {
  log.info({ signal }, 'shutting down: finishing in-flight requests');
  await app.close();
  await publisher.stop();
  redis?.disconnect();
  keys?.close();
  pii?.keys.close();
});
