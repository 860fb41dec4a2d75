/**
 * MirrorMaker 2's internal records, read from Node. They are not JSON: MM2 writes them with
 * Kafka's own protocol types (org.apache.kafka.common.protocol.types), big-endian:
 *
 * - STRING: INT16 length, then that many bytes of UTF-8;
 * - INT16, INT32, INT64: two's complement, big-endian.
 *
 * Checkpoint (`<source>.checkpoints.internal` on the target; connect/mirror-client …/Checkpoint.java):
 *   key   = group STRING, topic STRING, partition INT32
 *   value = version INT16 (0), upstreamOffset INT64, offset INT64 (downstream), metadata STRING
 *
 * OffsetSync (`mm2-offset-syncs.<target>.internal` on the source; …/OffsetSync.java):
 *   key   = topic STRING, partition INT32
 *   value = upstreamOffset INT64, offset INT64 (downstream)
 */

/** One checkpoint: group `group` had committed `upstreamOffset` on the source; on the target, that is `downstreamOffset` of the mirrored `topic`/`partition`. */
export interface Checkpoint {
  group: string;
  /** The mirrored topic's name on the target (`A.crm-events`): a checkpoint is in the target's terms. */
  topic: string;
  partition: number;
  upstreamOffset: bigint;
  downstreamOffset: bigint;
  metadata: string;
}

/** One offset sync: upstream offset `upstreamOffset` of `topic`/`partition` was written at `downstreamOffset` on the target. */
export interface OffsetSync {
  topic: string;
  partition: number;
  upstreamOffset: bigint;
  downstreamOffset: bigint;
}

export class MirrorRecordError extends Error {
  readonly error = 'bad_mirror_record';
}

/** A cursor over one buffer, reading Kafka protocol types. */
class ProtocolReader {
  private at = 0;
  constructor(private readonly buf: Buffer, private readonly what: string) {}

  private need(n: number): void {
    if (this.at + n > this.buf.length) {
      throw new MirrorRecordError(`${this.what}: needs ${n} more byte(s) at ${this.at}, has ${this.buf.length - this.at}`);
    }
  }

  /** Reads `n` bytes at the cursor with `read` and moves past them. */
  private take<T>(n: number, read: (at: number) => T): T {
    this.need(n);
    const v = read(this.at);
    this.at += n;
    return v;
  }

  int16(): number {
    return this.take(2, (at) => this.buf.readInt16BE(at));
  }

  int32(): number {
    return this.take(4, (at) => this.buf.readInt32BE(at));
  }

  int64(): bigint {
    return this.take(8, (at) => this.buf.readBigInt64BE(at));
  }

  string(): string {
    const length = this.int16();
    if (length < 0) throw new MirrorRecordError(`${this.what}: null string at ${this.at - 2}`);
    return this.take(length, (at) => this.buf.toString('utf8', at, at + length));
  }

  end(): void {
    if (this.at !== this.buf.length) throw new MirrorRecordError(`${this.what}: ${this.buf.length - this.at} byte(s) left over`);
  }
}

export function decodeCheckpoint(key: Buffer, value: Buffer): Checkpoint {
  // #region solution 08:decode-checkpoint — Decode a checkpoint record: its key and value in Kafka's protocol types
  // hint: The key is group STRING, topic STRING, partition INT32, in that order: `k.string()`, `k.string()`, `k.int32()`.
  // hint: The value starts with a version INT16 (only 0 exists; refuse others with a MirrorRecordError), then upstreamOffset INT64, then the downstream offset INT64, then metadata STRING.
  // hint: Call `.end()` on both readers: left-over bytes mean the layout was misread.
  const k = new ProtocolReader(key, 'checkpoint key');
  const group = k.string();
  const topic = k.string();
  const partition = k.int32();
  k.end();
  const v = new ProtocolReader(value, 'checkpoint value');
  const version = v.int16();
  if (version !== 0) throw new MirrorRecordError(`checkpoint value: version ${version}, only 0 is known`);
  const upstreamOffset = v.int64();
  const downstreamOffset = v.int64();
  const metadata = v.string();
  v.end();
  return { group, topic, partition, upstreamOffset, downstreamOffset, metadata };
  // #endregion solution
}

export function decodeOffsetSync(key: Buffer, value: Buffer): OffsetSync {
  const k = new ProtocolReader(key, 'offset-sync key');
  const topic = k.string();
  const partition = k.int32();
  k.end();
  const v = new ProtocolReader(value, 'offset-sync value');
  const upstreamOffset = v.int64();
  const downstreamOffset = v.int64();
  v.end();
  return { topic, partition, upstreamOffset, downstreamOffset };
}
