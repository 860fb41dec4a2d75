/**
 * What every worker process does around its lanes: settings from the environment, the Kafka
 * client, the profile store, metrics, and a graceful stop on SIGTERM. Lab 02's worker has one
 * lane (src/main.ts); lab 04's adds a retry lane (labs/04-dlq/src/main.ts).
 */
import type { Kafka } from 'kafkajs';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { loadConfig, type Config } from '../../../shared/config.js';
import { createKafka, ensureTopic } from '../../../shared/kafka.js';
import { onShutdownSignal } from '../../../shared/shutdown.js';
import { startWorkerObservability } from './instrumentation.js';
import { ProfileStore } from './profile-store.js';
import { EventWorker, type WorkerOptions } from './worker.js';

export const WorkerEnv = z.object({
  WORKER_ID: z.string().default(`worker-${process.pid}`),
  PROFILE_DB: z.string().default('.run/profiles.db'),
  /** Simulated work per event, to make batches slow enough to crash in the middle of. */
  PROCESS_DELAY_MS: z.coerce.number().int().nonnegative().default(0),
  /** Events applied in one SQLite transaction at most (one sync to disk for all of them). */
  TX_MAX_EVENTS: z.coerce.number().int().positive().default(500),
  /** Offsets are committed once this many events are processed (after their transaction), and at the end of each batch. */
  COMMIT_EVERY: z.coerce.number().int().positive().default(500),
  /** Per-event "Processed [...]" info lines per second at most; the others go to debug (lab 02's README). */
  EVENT_LOG_PER_SECOND: z.coerce.number().int().nonnegative().default(10),
  /** A fetch is answered once this many bytes are there, or after FETCH_MAX_WAIT_MS (lab 02's README, "Fetch settings"). */
  FETCH_MIN_BYTES: z.coerce.number().int().positive().default(8_192),
  /** How long the broker holds a fetch that has less than FETCH_MIN_BYTES; an idle consumer polls this often. */
  FETCH_MAX_WAIT_MS: z.coerce.number().int().positive().default(25),
  /** The broker evicts a member it has not heard from for this long (Kafka's default bounds: 6 s – 30 min). */
  SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(1_800_000).default(10_000),
  METADATA_MAX_AGE_MS: z.coerce.number().int().positive().default(30_000),
  /** How long a profile write waits for a lock before it fails (shorter than SESSION_TIMEOUT_MS: see settingProblems). */
  STORE_BUSY_TIMEOUT_MS: z.coerce.number().int().nonnegative().default(5_000),
  /** Serve /metrics and /traces on this port (0: any free port); unset: no metrics server. */
  METRICS_PORT: z.coerce.number().int().nonnegative().optional(),
});

/**
 * Settings that parse but cannot work together. SQLite waits for a lock synchronously: the whole
 * process, heartbeats included, stops for up to STORE_BUSY_TIMEOUT_MS, so that wait must end
 * before the broker gives up on the worker, or a locked store becomes a rebalance loop.
 */
export function settingProblems(env: z.infer<typeof WorkerEnv>): string[] {
  const problems: string[] = [];
  if (env.STORE_BUSY_TIMEOUT_MS >= env.SESSION_TIMEOUT_MS) {
    problems.push(`STORE_BUSY_TIMEOUT_MS (${env.STORE_BUSY_TIMEOUT_MS}) must be shorter than the session timeout (${env.SESSION_TIMEOUT_MS} ms): `
      + 'a locked store blocks the process, heartbeats included, and the group would evict the worker');
  }
  return problems;
}

export interface WorkerContext<E> {
  config: Config;
  env: E;
  kafka: Kafka;
  log: Logger;
  observability: Awaited<ReturnType<typeof startWorkerObservability>>;
  /** The options every lane shares: store, worker id, pacing, instrumentation. */
  common: Omit<WorkerOptions, 'topic' | 'groupId'>;
}

export async function runWorkerProcess<S extends typeof WorkerEnv>(
  envSchema: S,
  buildLanes: (ctx: WorkerContext<z.infer<S>>) => Promise<{ lanes: EventWorker[]; close?: () => Promise<void> }>,
  moreProblems: (env: z.infer<S>) => string[] = () => [],
): Promise<void> {
  const config = loadConfig();
  const env = envSchema.parse(process.env) as z.infer<S>;
  const log = pino({ level: config.LOG_LEVEL, base: { worker: env.WORKER_ID } });
  const problems = [...settingProblems(env), ...moreProblems(env)];
  if (problems.length > 0) {
    log.fatal({ problems }, `refusing to start: ${problems.join('; ')}`);
    process.exit(2);
  }
  // The client id carries the worker id, so the group's member list says who owns what.
  const kafka = createKafka(config.kafkaBrokers, env.WORKER_ID);
  await ensureTopic(kafka, config.KAFKA_TOPIC, config.KAFKA_TOPIC_PARTITIONS);
  const store = new ProfileStore(env.PROFILE_DB, { busyTimeoutMs: env.STORE_BUSY_TIMEOUT_MS });
  // Metrics (lag and DLQ depth read from the broker on each scrape) and recent traces, on METRICS_PORT.
  const observability = await startWorkerObservability({
    kafka, workerId: env.WORKER_ID, groupId: config.CONSUMER_GROUP, topic: config.KAFKA_TOPIC, dlqTopic: config.KAFKA_DLQ_TOPIC,
    retryTopic: config.KAFKA_RETRY_TOPIC, log, metricsPort: env.METRICS_PORT,
  });
  const common: WorkerContext<z.infer<S>>['common'] = {
    kafka, workerId: env.WORKER_ID, store, log, processDelayMs: env.PROCESS_DELAY_MS, txMaxEvents: env.TX_MAX_EVENTS,
    commitEvery: env.COMMIT_EVERY, eventLogPerSecond: env.EVENT_LOG_PER_SECOND, fetchMinBytes: env.FETCH_MIN_BYTES, fetchMaxWaitMs: env.FETCH_MAX_WAIT_MS, sessionTimeoutMs: env.SESSION_TIMEOUT_MS,
    metadataMaxAgeMs: env.METADATA_MAX_AGE_MS, instrumentation: observability.instrumentation,
  };
  const { lanes, close } = await buildLanes({ config, env, kafka, log, observability, common });
  for (const lane of lanes) {
    lane.consumer.on(lane.consumer.events.GROUP_JOIN, ({ payload }) =>
      log.info({ group: payload.groupId, assignment: payload.memberAssignment }, 'joined the group'));
  }
  await Promise.all(lanes.map((lane) => lane.start()));
  log.info({ topic: config.KAFKA_TOPIC, group: config.CONSUMER_GROUP, lanes: lanes.length }, 'worker started');

  onShutdownSignal(async (signal) => {
    log.info({ signal }, 'stopping: finishing the batch in hand, committing, leaving the group');
    await Promise.all(lanes.map((lane) => lane.stop()));
    await close?.();
    await observability.close();
    log.info({ stats: lanes.map((lane) => lane.stats) }, 'stopped');
    store.close();
  });
}
