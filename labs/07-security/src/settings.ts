/** Lab 07's settings for an API replica, from the environment (lab 01's are in shared/config.ts). */
import { z } from 'zod';
import { writeKeysDbPath } from './write-keys.js';

const onOff = (fallback: 'on' | 'off') => z.enum(['on', 'off']).default(fallback).transform((v) => v === 'on');
const int = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const SecurityEnv = z.object({
  /** Write keys on POST /track and /batch, looked up in WRITE_KEYS_DB. */
  WRITE_KEYS: onOff('on'),
  WRITE_KEYS_DB: z.string().optional(),
  /** The shared store of the per-customer limit; unset = no per-customer limit (lab 01's per-IP limit stays). */
  REDIS_URL: z.string().optional(),
  CUSTOMER_RATE_LIMIT_MAX: int(100),
  CUSTOMER_RATE_LIMIT_WINDOW_MS: int(60_000),
  /** What a replica does when Redis cannot be asked: open = let the request through (see docs/edge.md). */
  CUSTOMER_RATE_LIMIT_ON_STORE_ERROR: z.enum(['open', 'closed']).default('open'),
  /** How long one Redis call may take before it counts as a store error. */
  REDIS_COMMAND_TIMEOUT_MS: int(100),
  /** Seal the PII fields before Kafka (src/pii/, PII_KEY_DB, PII_KEK_FILE, PII_FIELDS); `up -- --secure` turns it on. */
  PII_SEAL: onOff('off'),
  /** Addresses or CIDRs allowed to call the replica (nginx's proxy_bind, 127.0.0.254); unset = anyone. */
  API_ALLOWED_PEERS: z.string().optional(),
}).transform((env) => ({
  ...env,
  WRITE_KEYS_DB: env.WRITE_KEYS_DB ?? writeKeysDbPath(),
  allowedPeers: env.API_ALLOWED_PEERS?.split(',').map((a) => a.trim()).filter(Boolean),
}));

export type SecurityEnv = z.infer<typeof SecurityEnv>;
