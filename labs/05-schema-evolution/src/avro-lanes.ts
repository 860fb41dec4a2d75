/**
 * Lab 04's two lanes (main topic, retry topic with backoff, then the DLQ), reading events with
 * an AvroEventDecoder. What still goes to the DLQ is what can never be read: an unknown schema
 * id, corrupt Avro bytes, a first byte that is neither Avro's nor JSON's. A registry that does
 * not answer is not the record's fault: the lane stops on it without committing, and kafkajs
 * retries the batch until the registry is back.
 */
import type { KafkaMessage } from 'kafkajs';
import { EventWorker, type MessageProcessor, type WorkerOptions } from '../../02-consumer-groups/src/worker.js';
import { mainLane, retryLane, type DeadLetterOptions } from '../../04-dlq/src/dead-letter.js';
import type { AvroEventDecoder } from './avro-decoder.js';

/** Resolves the writer schema before lab 04's failure handling sees the message. */
function registryFirst(decoder: AvroEventDecoder, lane: (process: MessageProcessor) => MessageProcessor) {
  return (process: MessageProcessor): MessageProcessor => {
    const handled = lane(process);
    return async (message: KafkaMessage, position) => {
      await decoder.prepare(message);
      return handled(message, position);
    };
  };
}

export interface AvroLanesOptions {
  /** What every lane shares (kafka, store, worker id, log, ...), as lab 02's worker process builds it. */
  common: Omit<WorkerOptions, 'topic' | 'groupId' | 'decode' | 'processor'>;
  decoder: AvroEventDecoder;
  deadLetter: DeadLetterOptions;
  topic: string;
  groupId: string;
  retryGroupId: string;
}

export function avroLanes(o: AvroLanesOptions): EventWorker[] {
  const decode = (message: KafkaMessage) => o.decoder.decode(message);
  return [
    new EventWorker({ ...o.common, topic: o.topic, groupId: o.groupId, decode, processor: registryFirst(o.decoder, mainLane(o.deadLetter)) }),
    new EventWorker({ ...o.common, topic: o.deadLetter.retryTopic, groupId: o.retryGroupId, decode, processor: registryFirst(o.decoder, retryLane(o.deadLetter)) }),
  ];
}
