/**
 * Lab 04's two lanes (main topic, retry topic with backoff, then the DLQ), reading events with
 * an AvroEventDecoder. What still goes to the DLQ is what can never be read: an unknown schema
 * id, corrupt Avro bytes, a first byte that is neither Avro's nor JSON's. A registry that does
 * not answer is not the record's fault: the lane's `prepare` (which fetches the batch's writer
 * schemas before the synchronous decode) throws, nothing of the batch is applied or committed,
 * and kafkajs delivers the batch again until the registry is back.
 */
import { EventWorker, type Lane, type WorkerOptions } from '../../02-consumer-groups/src/worker.js';
import { mainLane, retryLane, type DeadLetterOptions } from '../../04-dlq/src/dead-letter.js';
import type { AvroEventDecoder } from './avro-decoder.js';

export interface AvroLanesOptions {
  /** What every lane shares (kafka, store, worker id, log, ...), as lab 02's worker process builds it. */
  common: Omit<WorkerOptions, 'topic' | 'groupId' | 'lane'>;
  decoder: AvroEventDecoder;
  deadLetter: Omit<DeadLetterOptions, 'decode'>;
  topic: string;
  groupId: string;
  retryGroupId: string;
}

export function avroLanes(o: AvroLanesOptions): EventWorker[] {
  const deadLetter: DeadLetterOptions = { ...o.deadLetter, decode: (message, position) => ({ event: o.decoder.decode(message), position }) };
  const withSchemas = (lane: Lane): Lane => ({ ...lane, prepare: (messages) => o.decoder.prepare(messages) });
  return [
    new EventWorker({ ...o.common, topic: o.topic, groupId: o.groupId, lane: withSchemas(mainLane(deadLetter)) }),
    // The retry lane is idle nearly always: it polls every 200 ms and takes what is there (lab 04 does the same).
    new EventWorker({ ...o.common, fetchMinBytes: 1, fetchMaxWaitMs: 200, topic: o.deadLetter.retryTopic, groupId: o.retryGroupId, lane: withSchemas(retryLane(deadLetter)) }),
  ];
}
