/**
 * `npm run dlq -- list | show <offset> | replay [--upto <offset>]`
 * Lists the dead letters not replayed yet, shows one in full, or replays them to the main topic.
 * An event already replayed DLQ_REPLAY_CAP times (default 3) is not replayed again: the command
 * stops there, says why, and exits with status 1. `show` and `replay` read or move event data:
 * each appends who, what and when to the audit log (shared/audit.ts; AUDIT_LOG, AUDIT_ACTOR).
 */
import { z } from 'zod';
import { appendAudit } from '../../../shared/audit.js';
import { dlqReplayGroupOf, loadConfig } from '../../../shared/config.js';
import { createEventProducer, createKafka } from '../../../shared/kafka.js';
import { DeadLetterQueue, type DeadLetter } from './dlq.js';

const config = loadConfig();
const { DLQ_REPLAY_CAP } = z.object({ DLQ_REPLAY_CAP: z.coerce.number().int().positive().default(3) }).parse(process.env);
const [command = 'list', ...args] = process.argv.slice(2);
const kafka = createKafka(config.kafkaBrokers, 'crm-lab-dlq-cli');
const admin = kafka.admin();
await admin.connect();
const dlq = new DeadLetterQueue(admin, config.kafkaBrokers, config.KAFKA_DLQ_TOPIC, dlqReplayGroupOf(config.CONSUMER_GROUP));

const eventIdOf = (d: DeadLetter) => {
  if (d.value === null) return '(null)';
  if (!d.valueIsJson) return '(not JSON)';
  return (d.value as { event_id?: unknown })?.event_id?.toString() ?? '?';
};
const summary = (d: DeadLetter) => {
  const f = d.failure;
  const failure = f ? `attempts=${f.attempts}  from=${f.original.topic}/${f.original.partition}/${f.original.offset}  error=${f.lastError}` : 'no failure headers';
  return `${String(d.offset).padStart(6)}  ${eventIdOf(d)}  replays=${d.replays}  ${failure}`;
};

let status = 0;
try {
  if (command === 'list') {
    const pending = await dlq.pending();
    console.log(`${config.KAFKA_DLQ_TOPIC}: ${pending.length} pending`);
    for (const d of pending) console.log(summary(d));
  } else if (command === 'show') {
    const offset = Number(args[0]);
    const entry = (await dlq.pending()).find((d) => d.offset === offset);
    if (!entry) throw new Error(`no pending dead letter at offset ${args[0]}`);
    appendAudit({ action: 'dlq.show', target: `${config.KAFKA_DLQ_TOPIC}/${entry.partition}/${entry.offset}`, details: { event_id: eventIdOf(entry), key: entry.key } });
    const times = entry.failure?.attemptTimes ?? [];
    const { raw, ...shown } = entry;
    console.log(JSON.stringify({ ...shown, value_bytes: raw.value?.length ?? null, backoff_gaps_ms: times.slice(1).map((t, i) => t - times[i]!) }, null, 2));
  } else if (command === 'replay') {
    const uptoIndex = args.indexOf('--upto');
    const upto = uptoIndex >= 0 ? Number(args[uptoIndex + 1]) : undefined;
    const producer = createEventProducer(kafka);
    await producer.connect();
    try {
      const { replayed, refused } = await dlq.replay(producer, config.KAFKA_TOPIC, { upto, cap: DLQ_REPLAY_CAP });
      appendAudit({ action: 'dlq.replay', target: config.KAFKA_DLQ_TOPIC, details: {
        to: config.KAFKA_TOPIC, offsets: replayed.map((d) => `${d.partition}/${d.offset}`), ...(refused ? { refused: `${refused.entry.partition}/${refused.entry.offset}` } : {}) } });
      console.log(`replayed ${replayed.length} to ${config.KAFKA_TOPIC}; ${await dlq.depth()} pending`);
      for (const d of replayed) console.log(summary(d));
      if (refused) {
        console.error(refused.message);
        status = 1;
      }
    } finally {
      await producer.disconnect();
    }
  } else {
    throw new Error(`unknown command ${command}: use list | show <offset> | replay [--upto <offset>]`);
  }
} finally {
  await admin.disconnect();
}
process.exit(status);
