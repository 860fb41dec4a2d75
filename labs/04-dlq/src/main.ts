/**
 * The complete worker (`npm run worker:dlq`): lab 02's worker plus a retry lane and a dead-letter
 * topic. Main lane: crm-events in group crm-event-processors; a failed event is re-published to
 * crm-events-retry and its offset committed. Retry lane: crm-events-retry in group
 * crm-event-processors-retry, attempts with exponential backoff (the partition paused until each
 * is due), then crm-events-dlq.
 */
import { z } from 'zod';
import { retryGroupOf } from '../../../shared/config.js';
import { createEventProducer, ensureTopic } from '../../../shared/kafka.js';
import { EventWorker } from '../../02-consumer-groups/src/worker.js';
import { runWorkerProcess, WorkerEnv } from '../../02-consumer-groups/src/worker-process.js';
import { mainLane, retryLane, type DeadLetterOptions } from './dead-letter.js';
import { policyProblems, type RetryPolicy } from './retry-policy.js';
import { upgradeValue } from './schema-v2.js';

const DlqWorkerEnv = WorkerEnv.extend({
  RETRY_MAX_ATTEMPTS: z.coerce.number().int().positive().default(4),
  RETRY_BASE_MS: z.coerce.number().int().positive().default(200),
  /** A locked store should fail fast and be retried, rather than hold the partition. */
  STORE_BUSY_TIMEOUT_MS: z.coerce.number().int().nonnegative().default(1_000),
  /** 2 = the "fixed" worker that can read v2 events (see schema-v2.ts). */
  SUPPORTED_SCHEMA_VERSION: z.coerce.number().int().min(1).max(2).default(1),
});

const policyOf = (env: z.infer<typeof DlqWorkerEnv>): RetryPolicy => ({ maxAttempts: env.RETRY_MAX_ATTEMPTS, baseDelayMs: env.RETRY_BASE_MS });

await runWorkerProcess(DlqWorkerEnv, async ({ config, env, kafka, log, observability, common }) => {
  await ensureTopic(kafka, config.KAFKA_RETRY_TOPIC, 1);
  await ensureTopic(kafka, config.KAFKA_DLQ_TOPIC, 1);
  const producer = createEventProducer(kafka);
  await producer.connect();
  const deadLetter: DeadLetterOptions = {
    producer,
    retryTopic: config.KAFKA_RETRY_TOPIC,
    dlqTopic: config.KAFKA_DLQ_TOPIC,
    policy: policyOf(env),
    log,
    transform: env.SUPPORTED_SCHEMA_VERSION >= 2 ? (m) => ({ ...m, value: upgradeValue(m.value) }) : undefined,
    onOutcome: (outcome) => {
      if (outcome === 'retry-scheduled') observability.metrics.retries.inc();
    },
  };
  log.info({ retryTopic: deadLetter.retryTopic, dlqTopic: deadLetter.dlqTopic, ...deadLetter.policy }, 'retry lane and DLQ enabled');
  return {
    lanes: [
      new EventWorker({ ...common, topic: config.KAFKA_TOPIC, groupId: config.CONSUMER_GROUP, lane: mainLane(deadLetter) }),
      // The retry lane is idle nearly always: it polls every 200 ms and takes what is there, not the main lane's 25 ms.
      new EventWorker({ ...common, fetchMinBytes: 1, fetchMaxWaitMs: 200, topic: config.KAFKA_RETRY_TOPIC, groupId: retryGroupOf(config.CONSUMER_GROUP), lane: retryLane(deadLetter) }),
    ],
    close: () => producer.disconnect(),
  };
}, (env) => policyProblems(policyOf(env)));
