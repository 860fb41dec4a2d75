/**
 * The complete worker (`npm run worker:dlq`): lab 02's worker plus a retry lane and a dead-letter
 * topic. Main lane: crm-events in group crm-event-processors; a failed event is re-published to
 * crm-events-retry and its offset committed. Retry lane: crm-events-retry in group
 * crm-event-processors-retry, attempts with exponential backoff, then crm-events-dlq.
 */
import { pino } from 'pino';
import { z } from 'zod';
import { loadConfig } from '../../../shared/config.js';
import { createEventProducer, createKafka, ensureTopic } from '../../../shared/kafka.js';
import { ProfileStore } from '../../02-consumer-groups/src/profile-store.js';
import { EventWorker } from '../../02-consumer-groups/src/worker.js';
import { mainLane, retryLane, type DeadLetterOptions } from './dead-letter.js';
import { upgradeValue } from './schema-v2.js';

const config = loadConfig();
const env = z
  .object({
    WORKER_ID: z.string().default(`worker-${process.pid}`),
    PROFILE_DB: z.string().default('.run/profiles.db'),
    COMMIT_EVERY: z.coerce.number().int().positive().default(100),
    RETRY_MAX_ATTEMPTS: z.coerce.number().int().positive().default(4),
    RETRY_BASE_MS: z.coerce.number().int().positive().default(200),
    /** How long a profile write waits for a lock before it counts as a failed attempt. */
    STORE_BUSY_TIMEOUT_MS: z.coerce.number().int().nonnegative().default(1_000),
    /** 2 = the "fixed" worker that can read v2 events (see schema-v2.ts). */
    SUPPORTED_SCHEMA_VERSION: z.coerce.number().int().min(1).max(2).default(1),
  })
  .parse(process.env);

const log = pino({ level: config.LOG_LEVEL, base: { worker: env.WORKER_ID } });
const kafka = createKafka(config.kafkaBrokers, env.WORKER_ID);
await ensureTopic(kafka, config.KAFKA_TOPIC, config.KAFKA_TOPIC_PARTITIONS);
await ensureTopic(kafka, config.KAFKA_RETRY_TOPIC, 1);
await ensureTopic(kafka, config.KAFKA_DLQ_TOPIC, 1);
const store = new ProfileStore(env.PROFILE_DB, { busyTimeoutMs: env.STORE_BUSY_TIMEOUT_MS });
const producer = createEventProducer(kafka);
await producer.connect();

const deadLetter: DeadLetterOptions = {
  producer,
  retryTopic: config.KAFKA_RETRY_TOPIC,
  dlqTopic: config.KAFKA_DLQ_TOPIC,
  policy: { maxAttempts: env.RETRY_MAX_ATTEMPTS, baseDelayMs: env.RETRY_BASE_MS },
  log,
  transform: env.SUPPORTED_SCHEMA_VERSION >= 2 ? (m) => ({ ...m, value: upgradeValue(m.value) }) : undefined,
};
const common = { kafka, workerId: env.WORKER_ID, store, log, commitEvery: env.COMMIT_EVERY };
const lanes = [
  new EventWorker({ ...common, topic: config.KAFKA_TOPIC, groupId: config.CONSUMER_GROUP, processor: mainLane(deadLetter) }),
  new EventWorker({ ...common, topic: config.KAFKA_RETRY_TOPIC, groupId: `${config.CONSUMER_GROUP}-retry`, processor: retryLane(deadLetter) }),
];
await Promise.all(lanes.map((lane) => lane.start()));
log.info({ topics: [config.KAFKA_TOPIC, config.KAFKA_RETRY_TOPIC], dlq: config.KAFKA_DLQ_TOPIC, ...deadLetter.policy }, 'worker started');

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    await Promise.all(lanes.map((lane) => lane.stop()));
    await producer.disconnect();
    log.info({ main: lanes[0]!.stats, retry: lanes[1]!.stats }, 'stopped');
    store.close();
    process.exit(0);
  });
}
