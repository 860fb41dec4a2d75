/**
 * MirrorMaker 2's checkpoint and offset-sync records, decoded from bytes laid out by hand after
 * Checkpoint.java and OffsetSync.java (connect/mirror-client), and the offset translation on
 * hand-made checkpoints. The failover tests decode what a real MirrorMaker wrote.
 */
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, decodeOffsetSync, MirrorRecordError, type Checkpoint } from '../src/mirror-records.js';
import { translateOffsets } from '../src/offset-translation.js';

const str = (s: string) => Buffer.concat([Buffer.from([0, Buffer.byteLength(s)]), Buffer.from(s)]);
const i16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const i32 = (n: number) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const i64 = (n: bigint) => { const b = Buffer.alloc(8); b.writeBigInt64BE(n); return b; };

const checkpointKey = Buffer.concat([str('crm-event-processors'), str('A.crm-events'), i32(1)]);
const checkpointValue = (version = 0) => Buffer.concat([i16(version), i64(1234n), i64(1200n), str('')]);

describe('MirrorMaker 2 records in Kafka protocol types', () => {
  it('decodes a checkpoint: group, mirrored topic, partition; version 0, upstream offset, downstream offset, metadata', () => {
    expect(decodeCheckpoint(checkpointKey, checkpointValue())).toEqual({
      group: 'crm-event-processors', topic: 'A.crm-events', partition: 1, upstreamOffset: 1234n, downstreamOffset: 1200n, metadata: '',
    });
  });

  it('refuses a checkpoint it cannot read: an unknown version, a truncated value, bytes left over', () => {
    expect(() => decodeCheckpoint(checkpointKey, checkpointValue(1))).toThrow(MirrorRecordError);
    expect(() => decodeCheckpoint(checkpointKey, checkpointValue().subarray(0, 12))).toThrow(/needs 8 more byte/);
    expect(() => decodeCheckpoint(Buffer.concat([checkpointKey, Buffer.from([0])]), checkpointValue())).toThrow(/left over/);
  });

  it('decodes an offset sync: topic, partition; upstream offset, downstream offset (no version)', () => {
    expect(decodeOffsetSync(Buffer.concat([str('crm-events'), i32(0)]), Buffer.concat([i64(42n), i64(20n)])))
      .toEqual({ topic: 'crm-events', partition: 0, upstreamOffset: 42n, downstreamOffset: 20n });
  });
});

describe('offset translation from checkpoints', () => {
  const cp = (partition: number, upstream: number, downstream: number, group = 'g', topic = 'A.crm-events'): Checkpoint =>
    ({ group, topic, partition, upstreamOffset: BigInt(upstream), downstreamOffset: BigInt(downstream), metadata: '' });

  it('resumes each partition at the downstream offset of its newest checkpoint, never the upstream one; other groups and topics ignored', () => {
    const offsets = translateOffsets([
      cp(0, 100, 78), cp(1, 50, 31), cp(0, 140, 117), // partition 0's newest: 140 → 117
      cp(0, 900, 800, 'other-group'), cp(1, 900, 800, 'g', 'A.other-topic'),
    ], 'g', 'A.crm-events');
    expect([...offsets].sort()).toEqual([[0, 117], [1, 31]]);
  });

  it('leaves a partition without a checkpoint out (it starts at the earliest offset)', () => {
    expect([...translateOffsets([cp(1, 10, 4)], 'g', 'A.crm-events')]).toEqual([[1, 4]]);
  });
});
