/**
 * Lab 07's worker (`npm run worker:pii`): lab 04's lanes (retry topic, DLQ), opening each event's
 * sealed PII with the key store before applying it, into a profile store that keeps contacts
 * (pii-profile-store.ts). Settings: lab 04's plus PII_KEY_DB, PII_KEK_FILE, PII_FIELDS.
 */
import { z } from 'zod';
import { retryGroupOf } from '../../../shared/config.js';
import { createEventProducer, ensureTopic } from '../../../shared/kafka.js';
import { EventWorker } from '../../02-consumer-groups/src/worker.js';
import { runWorkerProcess, WorkerEnv } from '../../02-consumer-groups/src/worker-process.js';
import { mainLane, retryLane, type DeadLetterOptions } from '../../04-dlq/src/dead-letter.js';
import { piiCodecFromEnv } from './pii/pii-setup.js';
import { piiDecode } from './pii-lanes.js';
import { PiiProfileStore } from './pii-profile-store.js';

const PiiWorkerEnv = WorkerEnv.extend({
  RETRY_MAX_ATTEMPTS: z.coerce.number().int().positive().default(4),
  RETRY_BASE_MS: z.coerce.number().int().positive().default(200),
  STORE_BUSY_TIMEOUT_MS: z.coerce.number().int().nonnegative().default(1_000),
});

await runWorkerProcess(PiiWorkerEnv, async ({ config, env, kafka, log, observability, common }) => {
  await ensureTopic(kafka, config.KAFKA_RETRY_TOPIC, 1);
  await ensureTopic(kafka, config.KAFKA_DLQ_TOPIC, 1);
  const producer = createEventProducer(kafka);
  await producer.connect();
  const { keys, fields } = piiCodecFromEnv();
  // A second connection to the same profile file: lab 02's tables plus contacts.
  const store = new PiiProfileStore(env.PROFILE_DB, { busyTimeoutMs: env.STORE_BUSY_TIMEOUT_MS });
  let erasedEvents = 0;
  const decode = piiDecode(keys, fields, (erased) => {
    erasedEvents++;
    log.info({ fields: erased, erasedEvents }, 'applied without PII: its key was erased');
  });
  const deadLetter: DeadLetterOptions = {
    producer,
    retryTopic: config.KAFKA_RETRY_TOPIC,
    dlqTopic: config.KAFKA_DLQ_TOPIC,
    policy: { maxAttempts: env.RETRY_MAX_ATTEMPTS, baseDelayMs: env.RETRY_BASE_MS },
    log,
    decode,
    onOutcome: (outcome) => {
      if (outcome === 'retry-scheduled') observability.metrics.retries.inc();
    },
  };
  log.info({ fields }, 'opening sealed PII before applying');
  const shared = { ...common, store };
  return {
    lanes: [
      new EventWorker({ ...shared, topic: config.KAFKA_TOPIC, groupId: config.CONSUMER_GROUP, lane: mainLane(deadLetter) }),
      // The retry lane is idle nearly always: it polls every 200 ms and takes what is there (lab 04 does the same).
      new EventWorker({ ...shared, fetchMinBytes: 1, fetchMaxWaitMs: 200, topic: config.KAFKA_RETRY_TOPIC, groupId: retryGroupOf(config.CONSUMER_GROUP), lane: retryLane(deadLetter) }),
    ],
    close: async () => {
      await producer.disconnect();
      store.close();
      keys.close();
    },
  };
});
