/** One stream processor process: `npm run streams` (settings: shared/config.ts for the brokers, settings.ts for the rest). */
import { pino } from 'pino';
import { loadConfig } from '../../../shared/config.js';
import { createKafka } from '../../../shared/kafka.js';
import { onShutdownSignal } from '../../../shared/shutdown.js';
import { StreamProcessor } from './processor.js';
import { StreamsEnv } from './settings.js';
import { ensureStreamsTopics } from './topics.js';

const config = loadConfig();
const settings = StreamsEnv.parse(process.env);
const log = pino({ level: config.LOG_LEVEL, base: { processor: settings.PROCESSOR_ID } });
const kafka = createKafka(config.kafkaBrokers, settings.PROCESSOR_ID);
const partitions = await ensureStreamsTopics(kafka, settings, config.KAFKA_TOPIC_PARTITIONS);
const processor = new StreamProcessor(kafka, settings, log);
await processor.start();
log.info({ input: settings.STREAMS_INPUT_TOPIC, partitions, group: settings.STREAMS_APP_ID, exactlyOnce: settings.EXACTLY_ONCE,
  commitIntervalMs: settings.COMMIT_INTERVAL_MS, graceMs: settings.GRACE_MS }, 'stream processor started');
const progress = setInterval(() => log.info(processor.stats(), 'progress'), 5_000);

onShutdownSignal(async (signal) => {
  log.info({ signal }, 'stopping: committing every task, leaving the group');
  clearInterval(progress);
  await processor.stop();
  log.info(processor.stats(), 'stopped');
});
