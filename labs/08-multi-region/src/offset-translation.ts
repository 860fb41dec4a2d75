/**
 * A consumer group's position on region B, worked out from what MirrorMaker 2 left there: the
 * checkpoints topic (`A.checkpoints.internal`, read from Node: src/mirror-records.ts) translated
 * each upstream commit into an offset of the mirrored topic (`A.crm-events`).
 */
import type { Admin } from 'kafkajs';
import { scanTopic } from '../../../shared/scan-topic.js';
import { decodeCheckpoint, decodeOffsetSync, type Checkpoint, type OffsetSync } from './mirror-records.js';

/** Every record of `topic` that has a key and a value, decoded, in offset order per partition. */
async function readDecoded<T>(brokers: string[], topic: string, decode: (key: Buffer, value: Buffer) => T, clientId: string): Promise<T[]> {
  const out: T[] = [];
  await scanTopic(brokers, topic, (_partition, message) => {
    if (message.key && message.value) out.push(decode(message.key, message.value));
  }, { clientId });
  return out;
}

/** Every checkpoint the topic holds, in offset order per partition of the checkpoints topic. */
export function readCheckpoints(brokers: string[], checkpointsTopic: string): Promise<Checkpoint[]> {
  return readDecoded(brokers, checkpointsTopic, decodeCheckpoint, 'crm-lab-checkpoints');
}

/** Every offset sync MM2 wrote (`mm2-offset-syncs.B.internal`, on the source cluster), in the order written. */
export function readOffsetSyncs(brokers: string[], offsetSyncsTopic: string): Promise<OffsetSync[]> {
  return readDecoded(brokers, offsetSyncsTopic, decodeOffsetSync, 'crm-lab-offset-syncs');
}

/** The latest checkpoint of `group` for each partition of the mirrored topic (`A.crm-events`: checkpoints name the target's topic). */
export function latestCheckpoints(checkpoints: Checkpoint[], group: string, mirroredTopic: string): Map<number, Checkpoint> {
  const latest = new Map<number, Checkpoint>();
  // A partition's checkpoints are in one partition of the checkpoints topic (keyed by group,
  // topic, partition), in the order MM2 wrote them: the last one read is the newest.
  for (const c of checkpoints) if (c.group === group && c.topic === mirroredTopic) latest.set(c.partition, c);
  return latest;
}

/**
 * Where `group` resumes on each partition of the mirrored topic: the offset on B the group's last
 * checkpointed commit on A translates to. A partition without a checkpoint is absent (the group
 * never committed there, or MM2 had not checkpointed it yet): start it from B's earliest offset.
 */
export function translateOffsets(checkpoints: Checkpoint[], group: string, mirroredTopic: string): Map<number, number> {
  // #region solution 08:translate-offsets — Turn the group's checkpoints into the offsets it resumes from on B
  // hint: `latestCheckpoints(checkpoints, group, mirroredTopic)` gives the newest checkpoint per partition.
  // hint: A checkpoint carries two offsets: `upstreamOffset` is A's (the group's commit there), `downstreamOffset` is B's. Offsets of the two clusters differ whenever B's copy did not start at A's offset 0 (retention, transaction markers, a restarted MM2): only the downstream one means anything on B.
  // stub: return new Map();
  const out = new Map<number, number>();
  for (const [partition, c] of latestCheckpoints(checkpoints, group, mirroredTopic)) out.set(partition, Number(c.downstreamOffset));
  return out;
  // #endregion solution
}

/**
 * Commits `offsets` for `group` on the mirrored topic in B; partitions without one start at B's
 * earliest offset. The group must have no member in B (Kafka refuses otherwise).
 */
export async function commitTranslated(admin: Admin, group: string, mirroredTopic: string, offsets: Map<number, number>): Promise<{ partition: number; offset: number }[]> {
  const ends = await admin.fetchTopicOffsets(mirroredTopic);
  const partitions = ends.map((p) => ({ partition: p.partition, offset: offsets.get(p.partition) ?? Number(p.low) }));
  await admin.setOffsets({ groupId: group, topic: mirroredTopic, partitions: partitions.map((p) => ({ partition: p.partition, offset: String(p.offset) })) });
  return partitions;
}
