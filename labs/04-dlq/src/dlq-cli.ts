/**
 * `npm run dlq -- list | show <offset> | replay [--upto <offset>]`
 * Lists the dead letters not replayed yet, shows one in full, or replays them to the main topic.
 */
import { dlqReplayGroupOf, loadConfig } from '../../../shared/config.js';
import { createEventProducer, createKafka } from '../../../shared/kafka.js';
import { DeadLetterQueue, type DeadLetter } from './dlq.js';

const config = loadConfig();
const [command = 'list', ...args] = process.argv.slice(2);
const kafka = createKafka(config.kafkaBrokers, 'crm-lab-dlq-cli');
const admin = kafka.admin();
await admin.connect();
const dlq = new DeadLetterQueue(admin, config.kafkaBrokers, config.KAFKA_DLQ_TOPIC, dlqReplayGroupOf(config.CONSUMER_GROUP));

const summary = (d: DeadLetter) => {
  const eventId = (d.value as { event_id?: string } | null)?.event_id ?? '?';
  const o = d.failure.original;
  return `${String(d.offset).padStart(6)}  ${eventId}  attempts=${d.failure.attempts}  from=${o.topic}/${o.partition}/${o.offset}  error=${d.failure.lastError}`;
};

try {
  if (command === 'list') {
    const pending = await dlq.pending();
    console.log(`${config.KAFKA_DLQ_TOPIC}: ${pending.length} pending`);
    for (const d of pending) console.log(summary(d));
  } else if (command === 'show') {
    const offset = Number(args[0]);
    const entry = (await dlq.pending()).find((d) => d.offset === offset);
    if (!entry) throw new Error(`no pending dead letter at offset ${args[0]}`);
    const gaps = entry.failure.attemptTimes.slice(1).map((t, i) => t - entry.failure.attemptTimes[i]!);
    console.log(JSON.stringify({ ...entry, backoff_gaps_ms: gaps }, null, 2));
  } else if (command === 'replay') {
    const uptoIndex = args.indexOf('--upto');
    const upto = uptoIndex >= 0 ? Number(args[uptoIndex + 1]) : undefined;
    const producer = createEventProducer(kafka);
    await producer.connect();
    try {
      const replayed = await dlq.replay(producer, config.KAFKA_TOPIC, { upto });
      console.log(`replayed ${replayed.length} to ${config.KAFKA_TOPIC}; ${await dlq.depth()} pending`);
      for (const d of replayed) console.log(summary(d));
    } finally {
      await producer.disconnect();
    }
  } else {
    throw new Error(`unknown command ${command}: use list | show <offset> | replay [--upto <offset>]`);
  }
} finally {
  await admin.disconnect();
}
