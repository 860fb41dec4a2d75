/**
 * One API replica of lab 05 (`npm run api:avro`): lab 01's app, writing Avro through the
 * schema registry instead of JSON. Same settings as lab 01 plus settings.ts.
 */
import { pino } from 'pino';
import { loadConfig } from '../../../shared/config.js';
import { createKafka } from '../../../shared/kafka.js';
import { createApiMetrics, createRegistry } from '../../../shared/metrics.js';
import { onShutdownSignal } from '../../../shared/shutdown.js';
import { buildApp } from '../../01-ingest/src/app.js';
import { EventPublisher, publisherOptionsFrom } from '../../01-ingest/src/publisher.js';
import { AvroEventEncoder } from './avro-encoder.js';
import { createRegistryClient } from './schema-registry.js';
import { subjectOf } from './schemas.js';
import { SchemaEnv } from './settings.js';

const config = loadConfig();
const env = SchemaEnv.parse(process.env);
const log = pino({ level: config.LOG_LEVEL, base: { instance: config.API_INSTANCE_ID } });
const kafka = createKafka(config.kafkaBrokers, `${config.KAFKA_CLIENT_ID}-${config.API_INSTANCE_ID}`);
const codec = new AvroEventEncoder(createRegistryClient(env.SCHEMA_REGISTRY_URL), { subject: subjectOf(config.KAFKA_TOPIC), version: env.SCHEMA_VERSION });
// Warm the schema id cache now, so a registry outage later does not stop the replica.
codec.writerSchemaId().catch((error: Error) => log.warn({ err: error }, 'writer schema not resolved yet; /track answers 503 until it is'));
const metrics = createApiMetrics(createRegistry({ defaults: true, labels: { instance_id: config.API_INSTANCE_ID } }));
const publisher = new EventPublisher(kafka, { ...publisherOptionsFrom(config, log), onBatchSent: (events) => metrics.producerBatchEvents.observe(events) });
const app = await buildApp(config, publisher, log, { metrics, codec });
publisher.start().catch((error) => {
  log.fatal({ err: error }, 'cannot publish to this topic');
  process.exit(1);
});
await app.listen({ host: config.API_HOST, port: config.API_PORT });
log.info({ schemaVersion: env.SCHEMA_VERSION, registry: env.SCHEMA_REGISTRY_URL }, 'writing Avro');

onShutdownSignal(async (signal) => {
  log.info({ signal }, 'shutting down: finishing in-flight requests');
  await app.close();
  await publisher.stop();
});
