/**
 * One input partition's task: its state, and its own transactional producer (transactional.id =
 * app-topic-partition). Opening a task fences whoever owned the partition before (a crashed or
 * slow processor): the broker aborts that owner's open transaction and refuses its later writes.
 * Then the task restores its state from the changelog; both the state and the input position it
 * restores were written by one committed transaction, so they agree.
 *
 * Each transaction holds: the outputs of the events processed since the last commit, the
 * changelog records of the state they changed (including the next input offset), and that input
 * offset for the consumer group (`sendOffsets`). Readers with read_committed see all of it or none.
 */
import type { Kafka, KafkaMessage, Message, Producer, Transaction } from 'kafkajs';
import type { Logger } from 'pino';
import { Partitioners } from '../../../shared/kafka.js';
import type { EnrichedEvent } from '../../../shared/schema.js';
import { restoreFromChangelog } from './changelog.js';
import type { EventReader } from './event-reader.js';
import type { Output, OutputKind } from './outputs.js';
import { PartitionState } from './partition-state.js';
import { changelogTopicOf, transactionalIdOf, type StreamsSettings } from './settings.js';

const SEND_CHUNK = 1_000;

export interface TaskContext {
  kafka: Kafka;
  settings: StreamsSettings;
  log: Logger;
  /** Reads each input record, JSON or Avro (event-reader.ts). */
  reader: EventReader;
  /** At-least-once mode only: the shared plain producer and the consumer's offset commit. */
  plainProducer?: Producer;
  commitOffset?: (partition: number, offset: number) => Promise<void>;
}

export class PartitionTask {
  private transaction: Transaction | null = null;
  private openedAt = 0;
  private pendingChangelog = false;
  processed = 0;
  unparseable = 0;

  private constructor(
    private readonly ctx: TaskContext,
    readonly partition: number,
    readonly state: PartitionState,
    private readonly producer: Producer | null,
  ) {}

  static async open(ctx: TaskContext, partition: number): Promise<PartitionTask> {
    const { settings, kafka } = ctx;
    let producer: Producer | null = null;
    if (settings.EXACTLY_ONCE) {
      producer = kafka.producer({
        transactionalId: transactionalIdOf(settings, partition), idempotent: true, maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      // The first transaction registers this transactional id with a new epoch: the fence.
      const fence = await producer.transaction();
      await fence.abort();
    }
    const state = new PartitionState(settings.GRACE_MS);
    const started = Date.now();
    const records = await restoreFromChangelog(kafka, changelogTopicOf(settings), partition, state);
    ctx.log.info({ partition, changelogRecords: records, ms: Date.now() - started, state: state.stats() }, 'task opened: state restored');
    return new PartitionTask(ctx, partition, state, producer);
  }

  /** The next input offset this task expects (null: no committed state yet). */
  get position(): number | null {
    return this.state.meta.position;
  }

  private topicOf(kind: OutputKind): string {
    const s = this.ctx.settings;
    return { hourly: s.HOURLY_TOPIC, activity: s.ACTIVITY_TOPIC, logins: s.LOGINS_TOPIC, late: s.LATE_TOPIC }[kind];
  }

  /**
   * Sends in requests of at most SEND_CHUNK records per topic: one input batch can hold thousands
   * of events, each with 15 activity windows, far beyond the broker's 1 MB message.max.bytes.
   */
  private async send(topicMessages: { topic: string; messages: Message[] }[]): Promise<void> {
    for (const { topic, messages } of topicMessages) {
      for (let i = 0; i < messages.length; i += SEND_CHUNK) {
        const chunk = [{ topic, messages: messages.slice(i, i + SEND_CHUNK) }];
        if (this.producer) {
          if (!this.transaction) {
            this.transaction = await this.producer.transaction();
            this.openedAt = Date.now();
          }
          await this.transaction.sendBatch({ topicMessages: chunk, acks: -1 });
        } else {
          await this.ctx.plainProducer!.sendBatch({ topicMessages: chunk, acks: -1 });
        }
      }
    }
  }

  /** Applies the messages (offset order) and sends their outputs in the open transaction. */
  async process(messages: KafkaMessage[]): Promise<void> {
    const outputs: Output[] = [];
    // Before any state changes: a registry that does not answer fails the task here, and nothing is half-applied.
    await this.ctx.reader.prepare(messages);
    for (const m of messages) {
      const event = decodeOrNull(this.ctx.reader, m);
      if (event) {
        outputs.push(...this.state.apply(event, Number(m.offset)));
        this.processed += 1;
      } else {
        // Not an event the API wrote: skipped, counted, and the position still moves past it.
        this.unparseable += 1;
        this.state.meta.position = Number(m.offset) + 1;
      }
    }
    if (messages.length === 0) return;
    const byTopic = new Map<string, Message[]>();
    for (const o of outputs) {
      const topic = this.topicOf(o.kind);
      const list = byTopic.get(topic) ?? [];
      list.push({ key: o.key, value: JSON.stringify(o.value) });
      byTopic.set(topic, list);
    }
    this.pendingChangelog = true;
    if (this.producer && !this.transaction) {
      this.transaction = await this.producer.transaction();
      this.openedAt = Date.now();
    }
    await this.send([...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })));
  }

  /** Commits when the open transaction is older than the commit interval. */
  async commitIfDue(now = Date.now()): Promise<boolean> {
    if (!this.pendingChangelog) return false;
    if (this.producer && now - this.openedAt < this.ctx.settings.COMMIT_INTERVAL_MS) return false;
    await this.commit();
    return true;
  }

  /** Writes the changed state and the input position, then commits them with the outputs. */
  async commit(): Promise<void> {
    if (!this.pendingChangelog) return;
    const changelog = this.state.takeChangelog().map((r) => ({ key: r.key, value: r.value, partition: this.partition }));
    await this.send([{ topic: changelogTopicOf(this.ctx.settings), messages: changelog }]);
    const position = this.state.meta.position!;
    if (this.transaction) {
      await this.transaction.sendOffsets({
        consumerGroupId: this.ctx.settings.STREAMS_APP_ID,
        topics: [{ topic: this.ctx.settings.STREAMS_INPUT_TOPIC, partitions: [{ partition: this.partition, offset: String(position) }] }],
      });
      await this.transaction.commit();
      this.transaction = null;
    } else {
      await this.ctx.commitOffset!(this.partition, position);
    }
    this.pendingChangelog = false;
  }

  /** Drops the task: an open transaction is aborted (or already was, by a fence), and the state is forgotten. */
  async close(): Promise<void> {
    if (this.transaction) await this.transaction.abort().catch(() => undefined);
    this.transaction = null;
    await this.producer?.disconnect().catch(() => undefined);
  }
}

function decodeOrNull(reader: EventReader, message: KafkaMessage): EnrichedEvent | null {
  try {
    return reader.decode(message);
  } catch {
    return null;
  }
}
