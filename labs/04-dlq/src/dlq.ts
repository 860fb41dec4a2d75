import type { Admin, Producer } from 'kafkajs';
import { readTopic, type ReadRecord } from '../../../shared/kafka.js';
import { consumerLag, totalLag } from '../../../shared/lag.js';
import { decodeFailureHeaders, type FailureHeaders } from './retry-policy.js';

export interface DeadLetter {
  offset: number;
  partition: number;
  key: string | null;
  value: unknown;
  failure: FailureHeaders;
}

/**
 * The DLQ is a topic, so entries are never deleted: "pending" means after the offset the replay
 * group has committed. Replaying re-publishes to the main topic, then commits past the entry.
 */
export class DeadLetterQueue {
  constructor(
    private readonly admin: Admin,
    private readonly brokers: string[],
    readonly dlqTopic: string,
    readonly replayGroup: string,
  ) {}

  /** Entries not replayed yet, in partition and offset order. */
  async pending(): Promise<DeadLetter[]> {
    // The replay group's committed offset per partition (-1: nothing replayed there yet).
    const replayed = new Map((await consumerLag(this.admin, this.replayGroup, this.dlqTopic)).map((p) => [p.partition, p.committed]));
    const records = await readTopic(this.brokers, this.dlqTopic);
    return records.filter((r) => r.offset >= (replayed.get(r.partition) ?? -1)).map(toDeadLetter);
  }

  /** Pending entries: the replay group's lag (the same number the worker's `dlq_depth` gauge reports). */
  async depth(): Promise<number> {
    return totalLag(await consumerLag(this.admin, this.replayGroup, this.dlqTopic));
  }

  /** Re-publishes the pending entries (all, or those up to `upto`) to `topic`; each is committed once acked. */
  async replay(producer: Producer, topic: string, opts: { upto?: number } = {}): Promise<DeadLetter[]> {
    const replayed: DeadLetter[] = [];
    for (const entry of await this.pending()) {
      if (opts.upto !== undefined && entry.offset > opts.upto) break;
      await producer.send({
        topic,
        acks: -1,
        messages: [{
          key: entry.key,
          value: JSON.stringify(entry.value),
          headers: { replayed_from: `${this.dlqTopic}/${entry.partition}/${entry.offset}` },
        }],
      });
      await this.admin.setOffsets({ groupId: this.replayGroup, topic: this.dlqTopic, partitions: [{ partition: entry.partition, offset: String(entry.offset + 1) }] });
      replayed.push(entry);
    }
    return replayed;
  }
}

function toDeadLetter(record: ReadRecord): DeadLetter {
  return {
    offset: record.offset,
    partition: record.partition,
    key: record.key,
    value: record.value,
    failure: decodeFailureHeaders(Object.fromEntries(Object.entries(record.headers).map(([k, v]) => [k, Buffer.from(v)])))!,
  };
}
