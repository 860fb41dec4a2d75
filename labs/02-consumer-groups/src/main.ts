/** One worker process: `npm run worker` (settings from the environment, see shared/config.ts). */
import { pino } from 'pino';
import { z } from 'zod';
import { loadConfig } from '../../../shared/config.js';
import { createKafka, ensureTopic } from '../../../shared/kafka.js';
import { ProfileStore } from './profile-store.js';
import { EventWorker } from './worker.js';

const config = loadConfig();
const env = z
  .object({
    WORKER_ID: z.string().default(`worker-${process.pid}`),
    PROFILE_DB: z.string().default('.run/profiles.db'),
    PROCESS_DELAY_MS: z.coerce.number().int().nonnegative().default(0),
    COMMIT_EVERY: z.coerce.number().int().positive().default(100),
    METADATA_MAX_AGE_MS: z.coerce.number().int().positive().default(30_000),
  })
  .parse(process.env);

const log = pino({ level: config.LOG_LEVEL, base: { worker: env.WORKER_ID } });
// The client id carries the worker id, so the group's member list says who owns what.
const kafka = createKafka(config.kafkaBrokers, env.WORKER_ID);
await ensureTopic(kafka, config.KAFKA_TOPIC, config.KAFKA_TOPIC_PARTITIONS);
const store = new ProfileStore(env.PROFILE_DB);
const worker = new EventWorker({
  kafka,
  topic: config.KAFKA_TOPIC,
  groupId: config.CONSUMER_GROUP,
  workerId: env.WORKER_ID,
  store,
  log,
  processDelayMs: env.PROCESS_DELAY_MS,
  commitEvery: env.COMMIT_EVERY,
  metadataMaxAgeMs: env.METADATA_MAX_AGE_MS,
});
worker.consumer.on(worker.consumer.events.GROUP_JOIN, ({ payload }) =>
  log.info({ assignment: payload.memberAssignment }, 'joined the group'),
);
await worker.start();
log.info({ topic: config.KAFKA_TOPIC, group: config.CONSUMER_GROUP }, 'worker started');

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, ...worker.stats }, 'stopping: finishing the batch in hand, committing, leaving the group');
    await worker.stop();
    log.info({ ...worker.stats }, 'stopped');
    store.close();
    process.exit(0);
  });
}
