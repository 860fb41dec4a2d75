import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { repoRoot } from './paths.js';
import type { ManagedProcess } from './processes.js';
import { launcher } from './runtime/launcher.js';

export interface WorkerProcess {
  id: string;
  env: NodeJS.ProcessEnv;
  process: ManagedProcess;
}

const entries = {
  /** Lab 02: consumer group, offsets after processing, exactly-once profiles. */
  'consumer-group': 'labs/02-consumer-groups/src/main.ts',
  /** Lab 04: the same plus retries with backoff and the dead-letter topic. */
  'with-dlq': 'labs/04-dlq/src/main.ts',
  /** Lab 05: lab 04's lanes decoding Avro with their reader schema (SCHEMA_VERSION), and JSON from before the switch. */
  'avro': 'labs/05-schema-evolution/src/main.ts',
  /** Lab 07: lab 04's worker opening sealed PII with the key store before applying it. */
  'pii': 'labs/07-security/src/worker.ts',
  /** Lab 06: the stream processor (windows, exact login counts, Kafka transactions); uses no profile store. */
  'stream-processor': 'labs/06-stream-processing/src/main.ts',
};

/** Starts one worker as its own process (default: lab 02's). */
export function startWorker(opts: {
  id: string;
  kind?: keyof typeof entries;
  brokers: string[];
  profileDb: string;
  env?: NodeJS.ProcessEnv;
  logDir?: string;
  keepAfterExit?: boolean;
}): WorkerProcess {
  const env: NodeJS.ProcessEnv = {
    LOG_LEVEL: 'info',
    // Its own log file keeps kafkajs' warnings, whatever the parent's level.
    KAFKAJS_LOG_LEVEL: 'warn',
    ...opts.env,
    WORKER_ID: opts.id,
    PROCESSOR_ID: opts.id,
    PROFILE_DB: resolve(repoRoot, opts.profileDb),
    KAFKA_BROKERS: opts.brokers.join(','),
  };
  const logDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'crm-worker-'));
  const proc = launcher().labProcess({ name: opts.id, entry: entries[opts.kind ?? 'consumer-group'], env,
    logFile: join(logDir, `${opts.id}.log`), keepAfterExit: opts.keepAfterExit,
    // The profile store is a file the tests open too (and SQLite's -wal/-shm beside it).
    sharedDirs: [dirname(env.PROFILE_DB!)] });
  return { id: opts.id, env, process: proc };
}
