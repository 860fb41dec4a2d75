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
  COMMIT_EVERY: z.coerce.number().int().positive().default(100),
  METADATA_MAX_AGE_MS: z.coerce.number().int().positive().default(30_000),
  /** How long a profile write waits for a lock before it fails. */
  STORE_BUSY_TIMEOUT_MS: z.coerce.number().int().nonnegative().default(10_000),
  /** Serve /metrics and /traces on this port (0: any free port); unset: no metrics server. */
  METRICS_PORT: z.coerce.number().int().nonnegative().optional(),
});

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
): Promise<void> {
  const config = loadConfig();
  const env = envSchema.parse(process.env) as z.infer<S>;
  const log = pino({ level: config.LOG_LEVEL, base: { worker: env.WORKER_ID } });
  // The client id carries the worker id, so the group's member list says who owns what.
  const kafka = createKafka(config.kafkaBrokers, env.WORKER_ID);
  await ensureTopic(kafka, config.KAFKA_TOPIC, config.KAFKA_TOPIC_PARTITIONS);
  const store = new ProfileStore(env.PROFILE_DB, { busyTimeoutMs: env.STORE_BUSY_TIMEOUT_MS });
  // Metrics (lag and DLQ depth read from the broker on each scrape) and recent traces, on METRICS_PORT.
  const observability = await startWorkerObservability({
    kafka, workerId: env.WORKER_ID, groupId: config.CONSUMER_GROUP, topic: config.KAFKA_TOPIC, dlqTopic: config.KAFKA_DLQ_TOPIC,
    log, metricsPort: env.METRICS_PORT,
  });
  const common: WorkerContext<z.infer<S>>['common'] = {
    kafka, workerId: env.WORKER_ID, store, log, processDelayMs: env.PROCESS_DELAY_MS, commitEvery: env.COMMIT_EVERY,
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
    log.info({ signal }, 'stopping: finishing the message in hand, committing, leaving the group');
    await Promise.all(lanes.map((lane) => lane.stop()));
    await close?.();
    await observability.close();
    log.info({ stats: lanes.map((lane) => lane.stats) }, 'stopped');
    store.close();
  });
}
