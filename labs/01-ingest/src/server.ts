/** One API replica: `npm run api` (settings from the environment, see shared/config.ts). */
import { pino } from 'pino';
import { loadConfig } from '../../../shared/config.js';
import { onShutdownSignal } from '../../../shared/shutdown.js';
import { createKafka } from '../../../shared/kafka.js';
import { createApiMetrics, createRegistry } from '../../../shared/metrics.js';
import { buildApp } from './app.js';
import { EventPublisher, publisherOptionsFrom } from './publisher.js';

const config = loadConfig();
const log = pino({ level: config.LOG_LEVEL, base: { instance: config.API_INSTANCE_ID } });
const kafka = createKafka(config.kafkaBrokers, `${config.KAFKA_CLIENT_ID}-${config.API_INSTANCE_ID}`);
// The process's single producer, shared by every request.
const metrics = createApiMetrics(createRegistry({ defaults: true, labels: { instance_id: config.API_INSTANCE_ID } }));
const publisher = new EventPublisher(kafka, { ...publisherOptionsFrom(config, log), onBatchSent: (events) => metrics.producerBatchEvents.observe(events) });
const app = await buildApp(config, publisher, log, { metrics });
// It listens only once the producer is connected: nginx (max_fails=0) sends a replica requests as soon
// as it accepts connections, and until then each would be a 503; a port not yet open is skipped.
await publisher.start().catch((error) => {
  log.fatal({ err: error }, 'cannot publish to this topic');
  process.exit(1);
});
// A deep accept queue: under a burst nginx's connects complete in the kernel while the replica is busy,
// instead of timing out (Node's default backlog is 511).
await app.listen({ host: config.API_HOST, port: config.API_PORT, backlog: config.API_LISTEN_BACKLOG });

onShutdownSignal(async (signal) => {
  log.info({ signal }, 'shutting down: finishing in-flight requests');
  await app.close();
  await publisher.stop();
});
