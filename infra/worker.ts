import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';
import { launch, type ManagedProcess } from './processes.js';

export interface WorkerProcess {
  id: string;
  env: NodeJS.ProcessEnv;
  process: ManagedProcess;
}

const tsxBin = join(repoRoot, 'node_modules', '.bin', 'tsx');

const entries = {
  /** Lab 02: consumer group, offsets after processing, exactly-once profiles. */
  'consumer-group': join(repoRoot, 'labs', '02-consumer-groups', 'src', 'main.ts'),
  /** Lab 04: the same plus retries with backoff and the dead-letter topic. */
  'with-dlq': join(repoRoot, 'labs', '04-dlq', 'src', 'main.ts'),
  /** Lab 06: the stream processor (windows, exact login counts, Kafka transactions); uses no profile store. */
  'stream-processor': join(repoRoot, 'labs', '06-stream-processing', 'src', 'main.ts'),
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
    PROFILE_DB: opts.profileDb,
    KAFKA_BROKERS: opts.brokers.join(','),
  };
  const logDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'crm-worker-'));
  const proc = launch(opts.id, tsxBin, [entries[opts.kind ?? 'consumer-group']], {
    env,
    cwd: repoRoot,
    logFile: join(logDir, `${opts.id}.log`),
    keepAfterExit: opts.keepAfterExit,
  });
  return { id: opts.id, env, process: proc };
}
