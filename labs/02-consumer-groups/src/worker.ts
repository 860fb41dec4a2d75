import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { EnrichedEvent } from '../../../shared/schema.js';
import type { ApplyResult, EventPosition, ProfileStore } from './profile-store.js';

/** What became of a message: applied, skipped as a duplicate, or (lab 04) sent to retry or to the DLQ. */
export type ProcessResult = ApplyResult | 'retry-scheduled' | 'dead-lettered';

/** Processes one message; throwing leaves its offset uncommitted (kafkajs retries the batch). */
export type MessageProcessor = (message: KafkaMessage, position: EventPosition) => Promise<ProcessResult>;

export interface WorkerOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  workerId: string;
  store: ProfileStore;
  log: Logger;
  /** Simulated work per event, to make batches slow enough to crash in the middle of. */
  processDelayMs?: number;
  /** Commit after this many processed events, and always at the end of a batch. */
  commitEvery?: number;
  /** How often metadata is refreshed; new partitions are noticed (and rebalanced) after this. */
  metadataMaxAgeMs?: number;
  /** Reads a message's event (default: JSON checked against EnrichedEvent); lab 05 decodes Avro. */
  decode?: (message: KafkaMessage) => Promise<EnrichedEvent>;
  /** Replaces the default processing (parse, then apply to the profile store): lab 04 wraps it. */
  processor?: (defaultProcessor: MessageProcessor) => MessageProcessor;
  /** Metric and trace hooks (see instrumentation.ts); they observe, and change nothing the worker does. */
  instrumentation?: WorkerInstrumentation;
}

/** Called by the worker as batches arrive, messages are processed and offsets are committed. */
export interface WorkerInstrumentation {
  /** Wraps the processor (outermost), to time and count each attempt. */
  wrapProcessor?(processor: MessageProcessor): MessageProcessor;
  batchPolled?(partition: number, messageCount: number): void;
  committed?(partition: number, nextOffset: number): void;
}

export class EventWorker {
  readonly consumer: Consumer;
  readonly stats: Record<ProcessResult | 'commits', number> = {
    applied: 0, duplicate: 0, 'retry-scheduled': 0, 'dead-lettered': 0, commits: 0,
  };
  private readonly processMessage: MessageProcessor;

  constructor(private readonly o: WorkerOptions) {
    this.consumer = o.kafka.consumer({
      groupId: o.groupId,
      metadataMaxAge: o.metadataMaxAgeMs ?? 30_000,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 200,
    });
    const parseAndApply: MessageProcessor = async (message, position) => {
      const event = o.decode ? await o.decode(message) : EnrichedEvent.parse(JSON.parse(message.value?.toString() ?? 'null'));
      if (o.processDelayMs) await new Promise((resolve) => setTimeout(resolve, o.processDelayMs));
      const result = o.store.apply(event, position, o.workerId);
      o.log.info(
        { partition: position.partition, offset: position.offset, event_id: event.event_id, result },
        result === 'applied'
          ? `Processed [${event.event_type}] for user ${event.user_id}`
          : `Skipped duplicate [${event.event_type}] for user ${event.user_id}`,
      );
      return result;
    };
    this.processMessage = o.processor ? o.processor(parseAndApply) : parseAndApply;
    if (o.instrumentation?.wrapProcessor) this.processMessage = o.instrumentation.wrapProcessor(this.processMessage);
  }

  async start(): Promise<void> {
    const { consumer, o } = this;
    const commitEvery = o.commitEvery ?? 100;
    await consumer.connect();
    await consumer.subscribe({ topic: o.topic, fromBeginning: true });
    await consumer.run({
      // Offsets are committed only after processing, never ahead of it.
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
        o.instrumentation?.batchPolled?.(batch.partition, batch.messages.length);
        let uncommitted: string | undefined;
        let sinceCommit = 0;
        // The batch's own commit goes to the group directly; consumer.commitOffsets() is a
        // silent no-op once stop() has begun, which would lose the commit of a graceful stop.
        const commit = async () => {
          if (uncommitted === undefined) return;
          const offset = String(Number(uncommitted) + 1);
          await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset }] }] });
          this.stats.commits++;
          o.instrumentation?.committed?.(batch.partition, Number(offset));
          o.log.debug({ partition: batch.partition, offset }, 'committed');
          uncommitted = undefined;
          sinceCommit = 0;
        };
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break;
          const result = await this.processMessage(message, { topic: batch.topic, partition: batch.partition, offset: Number(message.offset) });
          this.stats[result]++;
          resolveOffset(message.offset);
          uncommitted = message.offset;
          if (++sinceCommit >= commitEvery) await commit();
          try {
            await heartbeat();
          } catch (error) {
            // A rebalance is starting: hand over what is processed, so the next owner does not redo it.
            await commit().catch(() => undefined);
            throw error;
          }
        }
        await commit();
      },
    });
  }

  /** Graceful stop: the batch in hand finishes and is committed, then the worker leaves the group. */
  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
