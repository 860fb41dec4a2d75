import type { Admin, IHeaders, Producer } from 'kafkajs';
import { consumerLag, totalLag } from '../../../shared/lag.js';
import { readRawTopic, type RawRecord } from './raw-records.js';
import { decodeFailureHeaders, failureHeaderNames, type FailureHeaders } from './retry-policy.js';

/** Counts how often an event was replayed from the DLQ; it travels with the event through the retry lane back to the DLQ. */
export const REPLAY_COUNT_HEADER = 'replay_count';
export const REPLAYED_FROM_HEADER = 'replayed_from';

export interface DeadLetter {
  offset: number;
  partition: number;
  key: string | null;
  /** The value parsed as JSON; its text when it is not JSON (`valueIsJson` false); null for a null value. */
  value: unknown;
  valueIsJson: boolean;
  /** The event's own headers and the failure record, as text. */
  headers: Record<string, string>;
  /** The failure record (undefined if the entry did not come from a worker's retry lane). */
  failure?: FailureHeaders;
  /** Replays of this event so far. */
  replays: number;
  /** The record as stored, replayed byte for byte. */
  raw: RawRecord;
}

/** A replay stopped at an entry already replayed `cap` times: it is still failing after each fix. */
export class ReplayRefused extends Error {
  constructor(readonly entry: DeadLetter, readonly cap: number, readonly dlqTopic: string) {
    super(`refusing to replay ${dlqTopic}/${entry.partition}/${entry.offset}: replayed ${entry.replays} times already (DLQ_REPLAY_CAP=${cap}) `
      + `and back in the DLQ each time; it stays pending, with the entries after it. Inspect it with \`npm run dlq -- show ${entry.offset}\`.`);
  }
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
    const records = await readRawTopic(this.brokers, this.dlqTopic);
    return records.filter((r) => r.offset >= (replayed.get(r.partition) ?? -1)).map(toDeadLetter);
  }

  /** Pending entries: the replay group's lag (the same number the worker's `dlq_depth` gauge reports). */
  async depth(): Promise<number> {
    return totalLag(await consumerLag(this.admin, this.replayGroup, this.dlqTopic));
  }

  /**
   * Re-publishes the pending entries (all, or those up to `upto`) to `topic`, each committed once
   * acked: key, value and the event's own headers byte for byte, the replay counted in a header.
   * Stops, before sending it, at an entry already replayed `cap` times ({@link ReplayRefused}).
   */
  async replay(producer: Producer, topic: string, opts: { upto?: number; cap: number }): Promise<{ replayed: DeadLetter[]; refused?: ReplayRefused }> {
    const replayed: DeadLetter[] = [];
    for (const entry of await this.pending()) {
      if (opts.upto !== undefined && entry.offset > opts.upto) break;
      if (entry.replays >= opts.cap) return { replayed, refused: new ReplayRefused(entry, opts.cap, this.dlqTopic) };
      const headers: IHeaders = {
        ...withoutHeaders(entry.raw.headerBytes, [...failureHeaderNames, REPLAY_COUNT_HEADER, REPLAYED_FROM_HEADER]),
        [REPLAY_COUNT_HEADER]: String(entry.replays + 1),
        [REPLAYED_FROM_HEADER]: `${this.dlqTopic}/${entry.partition}/${entry.offset}`,
      };
      await producer.send({ topic, acks: -1, messages: [{ key: entry.raw.key, value: entry.raw.value, headers }] });
      await this.admin.setOffsets({ groupId: this.replayGroup, topic: this.dlqTopic, partitions: [{ partition: entry.partition, offset: String(entry.offset + 1) }] });
      replayed.push(entry);
    }
    return { replayed };
  }
}

function withoutHeaders(headers: IHeaders, names: string[]): IHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.includes(name)));
}

function parseValue(value: Buffer | null): { value: unknown; valueIsJson: boolean } {
  if (value === null) return { value: null, valueIsJson: false };
  const text = value.toString();
  try {
    return { value: JSON.parse(text), valueIsJson: true };
  } catch {
    return { value: text, valueIsJson: false };
  }
}

function failureOf(record: RawRecord): FailureHeaders | undefined {
  try {
    return decodeFailureHeaders(record.headerBytes);
  } catch {
    return undefined; // headers someone else wrote: shown as they are
  }
}

function toDeadLetter(record: RawRecord): DeadLetter {
  return {
    offset: record.offset,
    partition: record.partition,
    key: record.key?.toString() ?? null,
    ...parseValue(record.value),
    headers: record.headers,
    failure: failureOf(record),
    replays: Number(record.headers[REPLAY_COUNT_HEADER] ?? 0) || 0,
    raw: record,
  };
}
