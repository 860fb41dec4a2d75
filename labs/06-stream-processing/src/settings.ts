import { z } from 'zod';

const int = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);

/** Lab 06's settings, from the environment (the broker list comes from shared/config.ts). */
export const StreamsEnv = z.object({
  /** The consumer group, the transactional id prefix and the changelog's name. */
  STREAMS_APP_ID: z.string().default('crm-streams'),
  STREAMS_INPUT_TOPIC: z.string().default('crm-events'),
  HOURLY_TOPIC: z.string().default('crm-user-hourly'),
  ACTIVITY_TOPIC: z.string().default('crm-user-activity-15m'),
  LOGINS_TOPIC: z.string().default('crm-user-logins'),
  LATE_TOPIC: z.string().default('crm-user-late-events'),
  /** How long a window waits for out-of-order events after it ends (in event time). */
  GRACE_MS: int(10 * 60_000),
  /** How often each partition's transaction commits; outputs become visible to read_committed readers then. */
  COMMIT_INTERVAL_MS: int(1_000),
  /** false: no transactions (outputs sent at once, offsets committed after them): at-least-once, for the benchmark. */
  EXACTLY_ONCE: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  PROCESSOR_ID: z.string().default(`streams-${process.pid}`),
  /** Bytes fetched per partition per request: small values make batches (and crash points) smaller. */
  MAX_BYTES_PER_PARTITION: int(1024 * 1024),
  /**
   * A fetch is answered once this many bytes are there, or after FETCH_MAX_WAIT_MS. Each fetched
   * batch costs a fetch and a produce request whatever its size, so waiting for ~64 KB (about 150
   * events) under load cuts that cost; outputs only become visible at the next commit anyway.
   */
  FETCH_MIN_BYTES: z.coerce.number().int().positive().default(64 * 1024),
  /** How long the broker holds a fetch that has less than FETCH_MIN_BYTES. */
  FETCH_MAX_WAIT_MS: z.coerce.number().int().positive().default(100),
});

export type StreamsSettings = z.infer<typeof StreamsEnv>;

export const changelogTopicOf = (s: Pick<StreamsSettings, 'STREAMS_APP_ID'>) => `${s.STREAMS_APP_ID}-changelog`;
export const transactionalIdOf = (s: StreamsSettings, partition: number) => `${s.STREAMS_APP_ID}-${s.STREAMS_INPUT_TOPIC}-${partition}`;
