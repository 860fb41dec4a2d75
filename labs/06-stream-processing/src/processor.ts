/**
 * The stream processor: a consumer in group STREAMS_APP_ID reading the input, one task per
 * assigned partition (task.ts). Every task operation runs on one queue, so a batch, a timed commit
 * and a rebalance's cleanup never interleave. Any error in a task drops it; the next batch of that
 * partition reopens it from the changelog, which is the recovery path after a crash too.
 */
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { createEventProducer } from '../../../shared/kafka.js';
import { eventReaderFrom, type EventReader } from './event-reader.js';
import { type StreamsSettings } from './settings.js';
import { PartitionTask, type TaskContext } from './task.js';

const PROCESS_SLICE = 500;

export class StreamProcessor {
  readonly consumer: Consumer;
  private readonly tasks = new Map<number, PartitionTask>();
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private plainProducer: Producer | undefined;
  private readonly ctx: TaskContext;
  /** Totals over tasks this process has closed, so `stats` keeps counting after a rebalance. */
  private closedTotals = { processed: 0, unparseable: 0 };

  constructor(private readonly kafka: Kafka, private readonly settings: StreamsSettings, private readonly log: Logger, reader: EventReader = eventReaderFrom()) {
    this.consumer = kafka.consumer({
      groupId: settings.STREAMS_APP_ID,
      readUncommitted: false,
      // Capped at one partition's fetch size: with a small MAX_BYTES_PER_PARTITION (the crash tests') the minimum
      // could never be reached, and every fetch would wait out FETCH_MAX_WAIT_MS.
      minBytes: Math.min(settings.FETCH_MIN_BYTES, settings.MAX_BYTES_PER_PARTITION),
      maxWaitTimeInMs: settings.FETCH_MAX_WAIT_MS,
      maxBytesPerPartition: settings.MAX_BYTES_PER_PARTITION,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
    });
    this.ctx = { kafka, settings, log, reader };
  }

  /** Runs `fn` after every task operation queued before it. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async start(): Promise<void> {
    if (!this.settings.EXACTLY_ONCE) {
      this.plainProducer = createEventProducer(this.kafka, { idempotent: false });
      await this.plainProducer.connect();
      this.ctx.plainProducer = this.plainProducer;
      this.ctx.commitOffset = (partition, offset) => this.consumer.commitOffsets([
        { topic: this.settings.STREAMS_INPUT_TOPIC, partition, offset: String(offset) },
      ]);
    }
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = new Set(payload.memberAssignment[this.settings.STREAMS_INPUT_TOPIC] ?? []);
      this.log.info({ assigned: [...assigned] }, 'joined the group');
      void this.serial(async () => {
        for (const partition of [...this.tasks.keys()]) if (!assigned.has(partition)) await this.dropTask(partition, 'revoked');
      });
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.settings.STREAMS_INPUT_TOPIC, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.serial(() => this.onBatch(payload)),
    });
    const tick = Math.max(20, Math.min(this.settings.COMMIT_INTERVAL_MS, 200));
    this.timer = setInterval(() => void this.serial(() => this.commitDue()), tick);
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isStale }: EachBatchPayload): Promise<void> {
    if (isStale() || batch.isEmpty()) return;
    const { partition } = batch;
    let task = this.tasks.get(partition);
    if (!task) {
      task = await PartitionTask.open(this.ctx, partition);
      this.tasks.set(partition, task);
      const first = Number(batch.firstOffset());
      // The consumer's own fetch position can disagree with the restored one (a crash after a
      // dropped task, a commit that raced a rebalance): the changelog's position wins.
      if (task.position !== null && first !== task.position) {
        this.log.info({ partition, fetched: first, restored: task.position }, 'seeking to the restored position');
        this.consumer.seek({ topic: batch.topic, partition, offset: String(task.position) });
        return;
      }
    }
    const from = task.position ?? 0;
    const messages = batch.messages.filter((m) => Number(m.offset) >= from);
    try {
      // Slices, with a heartbeat between them: a 1 MB fetch holds thousands of events, and the
      // group would evict a member that stays silent past the session timeout.
      for (let i = 0; i < messages.length; i += PROCESS_SLICE) {
        await task.process(messages.slice(i, i + PROCESS_SLICE));
        await heartbeat();
      }
      await task.commitIfDue();
    } catch (error) {
      this.log.warn({ partition, err: String(error) }, 'task failed; it reopens from the changelog');
      await this.dropTask(partition, 'failed');
      return;
    }
    resolveOffset(batch.lastOffset());
  }

  private async commitDue(): Promise<void> {
    for (const [partition, task] of this.tasks) {
      try {
        await task.commitIfDue();
      } catch (error) {
        this.log.warn({ partition, err: String(error) }, 'commit failed; the task reopens from the changelog');
        await this.dropTask(partition, 'failed');
      }
    }
  }

  private async dropTask(partition: number, reason: string): Promise<void> {
    const task = this.tasks.get(partition);
    if (!task) return;
    this.tasks.delete(partition);
    this.closedTotals.processed += task.processed;
    this.closedTotals.unparseable += task.unparseable;
    await task.close();
    this.log.info({ partition, reason }, 'task closed');
  }

  stats() {
    const tasks = [...this.tasks.values()];
    return {
      partitions: tasks.map((t) => t.partition),
      processed: this.closedTotals.processed + tasks.reduce((a, t) => a + t.processed, 0),
      unparseable: this.closedTotals.unparseable + tasks.reduce((a, t) => a + t.unparseable, 0),
      lateEvents: tasks.reduce((a, t) => a + t.state.meta.late_events, 0),
    };
  }

  /** Graceful stop: finish the batch in hand, commit every task, leave the group. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.consumer.stop();
    await this.serial(async () => {
      for (const [partition, task] of this.tasks) {
        await task.commit().catch((error) => this.log.warn({ partition, err: String(error) }, 'final commit failed'));
        await this.dropTask(partition, 'stopping');
      }
    });
    await this.consumer.disconnect();
    await this.plainProducer?.disconnect();
  }
}
