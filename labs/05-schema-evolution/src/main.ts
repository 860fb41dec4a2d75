/**
 * Lab 05's worker (`npm run worker:avro`): lab 04's lanes, decoding Avro with its own reader
 * schema (SCHEMA_VERSION 1 or 2) and still reading the JSON records from before the switch.
 * A v2 worker records each event's device (device-store.ts).
 */
import { retryGroupOf } from '../../../shared/config.js';
import { createEventProducer, ensureTopic } from '../../../shared/kafka.js';
import { runWorkerProcess } from '../../02-consumer-groups/src/worker-process.js';
import { AvroEventDecoder } from './avro-decoder.js';
import { avroLanes } from './avro-lanes.js';
import { DeviceProfileStore } from './device-store.js';
import { createRegistryClient } from './schema-registry.js';
import { AvroWorkerEnv } from './settings.js';

await runWorkerProcess(AvroWorkerEnv, async ({ config, env, kafka, log, observability, common }) => {
  await ensureTopic(kafka, config.KAFKA_RETRY_TOPIC, 1);
  await ensureTopic(kafka, config.KAFKA_DLQ_TOPIC, 1);
  const producer = createEventProducer(kafka);
  await producer.connect();
  // A second connection to the same profile file: lab 02's tables plus device_sightings.
  const store = new DeviceProfileStore(env.PROFILE_DB, { busyTimeoutMs: env.STORE_BUSY_TIMEOUT_MS });
  const decoder = new AvroEventDecoder(createRegistryClient(env.SCHEMA_REGISTRY_URL), env.SCHEMA_VERSION);
  log.info({ readerSchema: env.SCHEMA_VERSION, registry: env.SCHEMA_REGISTRY_URL }, 'reading Avro (and JSON from before the switch)');
  return {
    lanes: avroLanes({
      common: { ...common, store },
      decoder,
      topic: config.KAFKA_TOPIC,
      groupId: config.CONSUMER_GROUP,
      retryGroupId: retryGroupOf(config.CONSUMER_GROUP),
      deadLetter: {
        producer,
        retryTopic: config.KAFKA_RETRY_TOPIC,
        dlqTopic: config.KAFKA_DLQ_TOPIC,
        policy: { maxAttempts: env.RETRY_MAX_ATTEMPTS, baseDelayMs: env.RETRY_BASE_MS },
        log,
        onOutcome: (outcome) => {
          if (outcome === 'retry-scheduled') observability.metrics.retries.inc();
        },
      },
    }),
    close: async () => {
      await producer.disconnect();
      store.close();
    },
  };
});
