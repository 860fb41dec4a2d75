import { z } from 'zod';
import { WorkerEnv } from '../../02-consumer-groups/src/worker-process.js';

/** Lab 05's settings, from the environment, on top of shared/config.ts. */
export const SchemaEnv = z.object({
  /** The registry's Confluent-compatible API. */
  SCHEMA_REGISTRY_URL: z.string().url().default('http://127.0.0.1:8081/apis/ccompat/v7'),
  /** API: the version it writes (1 refuses `device`). Worker: the reader schema it decodes with. */
  SCHEMA_VERSION: z.coerce.number().int().min(1).max(2).default(2).transform((v) => v as 1 | 2),
});

/** Lab 04's worker settings (its main.ts runs on import, so they are restated here) plus the above. */
export const AvroWorkerEnv = WorkerEnv.extend({
  RETRY_MAX_ATTEMPTS: z.coerce.number().int().positive().default(4),
  RETRY_BASE_MS: z.coerce.number().int().positive().default(200),
  STORE_BUSY_TIMEOUT_MS: z.coerce.number().int().nonnegative().default(1_000),
  ...SchemaEnv.shape,
});
