/** One worker process: `npm run worker` (settings from the environment: shared/config.ts, worker-process.ts). */
import { EventWorker } from './worker.js';
import { runWorkerProcess, WorkerEnv } from './worker-process.js';

await runWorkerProcess(WorkerEnv, async ({ config, common }) => ({
  lanes: [new EventWorker({ ...common, topic: config.KAFKA_TOPIC, groupId: config.CONSUMER_GROUP })],
}));
