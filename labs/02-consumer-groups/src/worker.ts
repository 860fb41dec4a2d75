import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { EnrichedEvent } from '../../../shared/schema.js';
import { LogSampler } from './log-sampler.js';
import type { ApplyResult, EventPosition, PositionedEvent, ProfileStore } from './profile-store.js';

/** What became of a message: applied, skipped as a duplicate, or (lab 04) sent to retry or to the DLQ. */
export type ProcessResult = ApplyResult | 'retry-scheduled' | 'dead-lettered';

/** Lab 02's reading of a message: JSON, validated as an EnrichedEvent, applied under its own position. */
export function decodeEvent(message: KafkaMessage, position: EventPosition): PositionedEvent {
  return { event: EnrichedEvent.parse(JSON.parse(message.value?.toString() ?? 'null')), position };
}

/** How a lane reads its messages and what it does with one that fails; lab 04 adds retries (labs/04-dlq/src/dead-letter.ts). */
export interface Lane {
  /**
   * Asynchronous work the synchronous `decode` needs done first (lab 05 fetches writer schemas from
   * its registry), awaited once per batch before any of it is processed. Throwing stops the batch
   * with nothing of it applied or committed: kafkajs delivers it again (a registry outage is not the
   * messages' fault, so it must not reach onFailure).
   */
  prepare?(messages: KafkaMessage[]): Promise<void>;
  /** The event a message holds and the position it is applied under; throws for a message that cannot be processed. Default: {@link decodeEvent}. */
  decode?(message: KafkaMessage, position: EventPosition): PositionedEvent;
  /** Not before this time (ms since epoch) is the message processed: its partition is paused until then. */
  dueAt?(message: KafkaMessage): number | undefined;
  /**
   * A message whose decoding or applying threw. Default: none, the error stops the batch at this
   * message, with what was applied before it committed and its own offset not (kafkajs retries it).
   */
  onFailure?(message: KafkaMessage, position: EventPosition, error: unknown): Promise<ProcessResult>;
}

export interface WorkerOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  workerId: string;
  store: ProfileStore;
  log: Logger;
  lane?: Lane;
  /** Simulated work per event, to make batches slow enough to crash in the middle of. */
  processDelayMs?: number;
  /** Events applied in one SQLite transaction at most (a transaction also ends after 100 ms of simulated work). */
  txMaxEvents?: number;
  /** Commit once this many events are processed (after their transaction), and always at the end of a batch. */
  commitEvery?: number;
  /** Per-event info lines per second at most (see log-sampler.ts); the rest are logged at debug. */
  eventLogPerSecond?: number;
  /**
   * A fetch is answered once this many bytes are there, or after fetchMaxWaitMs (Kafka's fetch.min.bytes).
   * Default 8192 (about 20 events): each fetched batch costs a fetch, a transaction synced to disk and a
   * commit, so under load fewer, larger batches cost less (lab 02's README, "Fetch settings").
   */
  fetchMinBytes?: number;
  /** How long the broker holds a fetch waiting for fetchMinBytes (Kafka's fetch.max.wait.ms); an idle consumer polls this often. Default 25. */
  fetchMaxWaitMs?: number;
  sessionTimeoutMs?: number;
  /** How often metadata is refreshed; new partitions are noticed (and rebalanced) after this. */
  metadataMaxAgeMs?: number;
  /** Metric and trace hooks (see instrumentation.ts); they observe, and change nothing the worker does. */
  instrumentation?: WorkerInstrumentation;
}

/** Called by the worker as batches arrive, events are processed or fail, and offsets are committed. */
export interface WorkerInstrumentation {
  batchPolled?(partition: number, messageCount: number): void;
  /** An event processed to a result; `seconds`: its decoding plus its share of the transaction. */
  processed?(message: KafkaMessage, consumed: EventPosition, result: ProcessResult, seconds: number): void;
  /** An attempt that threw, in decoding or applying (lab 04 then hands the event to its retry lane). */
  failed?(message: KafkaMessage, consumed: EventPosition, error: unknown, seconds: number): void;
  committed?(partition: number, nextOffset: number): void;
}

export const HEARTBEAT_INTERVAL_MS = 1_000;
/** A transaction also ends after this much decoding (simulated work), so slow progress stays visible. */
const TX_MAX_DECODE_MS = 100;

/** A message read from a batch: the event to apply, or why it cannot be. */
interface Decoded {
  message: KafkaMessage;
  consumed: EventPosition;
  item?: PositionedEvent;
  error?: unknown;
  seconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class EventWorker {
  readonly consumer: Consumer;
  readonly stats: Record<ProcessResult | 'commits' | 'transactions', number> = {
    applied: 0, duplicate: 0, 'retry-scheduled': 0, 'dead-lettered': 0, commits: 0, transactions: 0,
  };
  private readonly lane: Lane;
  private readonly sampler: LogSampler;
  private readonly resumeTimers = new Set<NodeJS.Timeout>();

  constructor(private readonly o: WorkerOptions) {
    this.consumer = o.kafka.consumer({
      groupId: o.groupId,
      metadataMaxAge: o.metadataMaxAgeMs ?? 30_000,
      sessionTimeout: o.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: HEARTBEAT_INTERVAL_MS,
      minBytes: o.fetchMinBytes ?? 8_192,
      maxWaitTimeInMs: o.fetchMaxWaitMs ?? 25,
    });
    this.lane = o.lane ?? {};
    this.sampler = new LogSampler(o.eventLogPerSecond ?? 10);
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
    await this.consumer.run({
      // Offsets are committed only after processing, never ahead of it.
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.processBatch(payload),
    });
  }

  /** Graceful stop: the batch in hand finishes and is committed, then the worker leaves the group. */
  async stop(): Promise<void> {
    for (const timer of this.resumeTimers) clearTimeout(timer);
    await this.consumer.disconnect();
  }

  private async processBatch({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary, pause }: EachBatchPayload): Promise<void> {
    const { o, lane } = this;
    const txMaxEvents = o.txMaxEvents ?? 500;
    const commitEvery = o.commitEvery ?? 500;
    o.instrumentation?.batchPolled?.(batch.partition, batch.messages.length);
    await lane.prepare?.(batch.messages);
    let uncommitted: string | undefined;
    let sinceCommit = 0;

    // The batch's own commit goes to the group directly; consumer.commitOffsets() is a
    // silent no-op once stop() has begun, which would lose the commit of a graceful stop.
    const commit = async () => {
      // #region solution 02:commit-after-processing — Commit the offset after the last processed message, only once its effect is stored
      // hint: `uncommitted` is the offset of the last message processed (its transaction is on disk); nothing to do when it is undefined.
      // hint: Kafka's committed offset is the NEXT message to read: commit `uncommitted + 1`, as a string, for this batch's topic and partition.
      // hint: Use `commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset }] }] })` (it still works while stop() is under way), then count `this.stats.commits`, tell `o.instrumentation?.committed`, and reset `uncommitted` and `sinceCommit`.
      if (uncommitted === undefined) return;
      const offset = String(Number(uncommitted) + 1);
      await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset }] }] });
      this.stats.commits++;
      o.instrumentation?.committed?.(batch.partition, Number(offset));
      o.log.debug({ partition: batch.partition, offset }, 'committed');
      uncommitted = undefined;
      sinceCommit = 0;
      // #endregion solution
    };
    const beat = async () => {
      try {
        await heartbeat();
      } catch (error) {
        // A rebalance is starting: hand over what is processed, so the next owner does not redo it.
        await commit().catch(() => undefined);
        throw error;
      }
    };
    const done = (d: Decoded, result: ProcessResult, seconds: number) => {
      this.stats[result]++;
      o.instrumentation?.processed?.(d.message, d.consumed, result, seconds);
      if (d.item && (result === 'applied' || result === 'duplicate')) this.logEvent(d.item, result);
      resolveOffset(d.message.offset);
      uncommitted = d.message.offset;
      sinceCommit++;
    };
    const fail = async (d: Decoded, error: unknown, seconds: number) => {
      o.instrumentation?.failed?.(d.message, d.consumed, error, seconds);
      if (!lane.onFailure) {
        await commit();
        throw error;
      }
      done(d, await lane.onFailure(d.message, d.consumed, error), seconds);
    };

    // Applies what is decoded in one transaction; a failing message is handed to the lane and the rest go on in the next one.
    let chunk: Decoded[] = [];
    let chunkStarted = performance.now();
    const flush = async () => {
      let rest = chunk;
      chunk = [];
      while (rest.length > 0) {
        const decodedRun = rest.findIndex((d) => d.item === undefined);
        const run = decodedRun < 0 ? rest : rest.slice(0, decodedRun);
        if (run.length > 0) {
          const started = performance.now();
          let outcome: ReturnType<ProfileStore['applyBatch']>;
          try {
            outcome = o.store.applyBatch(run.map((d) => d.item!), o.workerId);
          } catch (error) {
            outcome = { results: [], failure: { index: 0, error } }; // the store stayed locked: the first event fails, the next transaction tries again
          }
          this.stats.transactions++;
          const share = (performance.now() - started) / 1000 / run.length;
          outcome.results.forEach((result, i) => done(run[i]!, result, run[i]!.seconds + share));
          rest = rest.slice(outcome.results.length);
          if (!outcome.failure) continue;
          const [failed] = rest.splice(0, 1);
          await fail(failed!, outcome.failure.error, failed!.seconds + share);
        } else {
          const [failed] = rest.splice(0, 1);
          await fail(failed!, failed!.error, failed!.seconds);
        }
        // A locked store fails event after event, each after a synchronous busy wait: keep the session alive between them.
        await beat();
      }
      this.logSampledOut(batch.partition);
      if (sinceCommit >= commitEvery) await commit();
      chunkStarted = performance.now();
    };

    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      const due = lane.dueAt?.(message);
      if (due !== undefined && due > Date.now()) {
        await flush();
        await commit();
        // Pausing, not sleeping: kafkajs keeps heartbeating while the partition waits, however long the
        // backoff, and fetches this message again (its offset is not resolved) once it is resumed.
        const resume = pause();
        const timer = setTimeout(() => {
          this.resumeTimers.delete(timer);
          resume();
        }, due - Date.now());
        this.resumeTimers.add(timer);
        o.log.debug({ partition: batch.partition, offset: message.offset, waitMs: due - Date.now() }, 'paused until the next message is due');
        return;
      }
      const consumed = { topic: batch.topic, partition: batch.partition, offset: Number(message.offset) };
      const started = performance.now();
      const decoded: Decoded = { message, consumed, seconds: 0 };
      try {
        decoded.item = (lane.decode ?? decodeEvent)(message, consumed);
      } catch (error) {
        decoded.error = error;
      }
      if (o.processDelayMs) {
        await sleep(o.processDelayMs);
        await beat();
      }
      decoded.seconds = (performance.now() - started) / 1000;
      chunk.push(decoded);
      if (chunk.length >= txMaxEvents || performance.now() - chunkStarted >= TX_MAX_DECODE_MS) {
        await flush();
        await beat();
      }
    }
    await flush();
    await commit();
  }

  private logEvent({ event, position }: PositionedEvent, result: ApplyResult) {
    const level = this.sampler.take() ? 'info' : 'debug';
    if (!this.o.log.isLevelEnabled(level)) return;
    this.o.log[level](
      { partition: position.partition, offset: position.offset, event_id: event.event_id, result },
      result === 'applied'
        ? `Processed [${event.event_type}] for user ${event.user_id}`
        : `Skipped duplicate [${event.event_type}] for user ${event.user_id}`,
    );
  }

  private logSampledOut(partition: number) {
    const skipped = this.sampler.drainSkippedIfDue();
    if (skipped > 0) {
      this.o.log.info({ partition, not_logged: skipped, stats: this.stats },
        `${skipped} per-event lines not logged (over ${this.o.eventLogPerSecond ?? 10}/s); LOG_LEVEL=debug logs them all`);
    }
  }
}
