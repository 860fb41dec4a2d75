/**
 * One API replica of lab 07 with sealed PII (`npm run api:pii`): lab 01's app with lab 07's codec,
 * /track and /batch alike. Same settings as lab 01 plus PII_KEY_DB, PII_KEK_FILE, PII_FIELDS.
 */
import { pino } from 'pino';
import { loadConfig } from '../../../shared/config.js';
import { createKafka } from '../../../shared/kafka.js';
import { createApiMetrics, createRegistry } from '../../../shared/metrics.js';
import { onShutdownSignal } from '../../../shared/shutdown.js';
import { buildApp } from '../../01-ingest/src/app.js';
import { EventPublisher, publisherOptionsFrom } from '../../01-ingest/src/publisher.js';
import { piiCodecFromEnv } from './pii/pii-setup.js';

const config = loadConfig();
const log = pino({ level: config.LOG_LEVEL, base: { instance: config.API_INSTANCE_ID } });
const kafka = createKafka(config.kafkaBrokers, `${config.KAFKA_CLIENT_ID}-${config.API_INSTANCE_ID}`);
const { codec, keys, fields } = piiCodecFromEnv();
const metrics = createApiMetrics(createRegistry({ defaults: true, labels: { instance_id: config.API_INSTANCE_ID } }));
const publisher = new EventPublisher(kafka, { ...publisherOptionsFrom(config, log), onBatchSent: (events) => metrics.producerBatchEvents.observe(events) });
const app = await buildApp(config, publisher, log, { metrics, codec });
publisher.start().catch((error) => {
  log.fatal({ err: error }, 'cannot publish to this topic');
  process.exit(1);
});
await app.listen({ host: config.API_HOST, port: config.API_PORT });
log.info({ fields }, 'sealing PII fields before Kafka');

onShutdownSignal(async (signal) => {
  log.info({ signal }, 'shutting down: finishing in-flight requests');
  await app.close();
  await publisher.stop();
  keys.close();
});
