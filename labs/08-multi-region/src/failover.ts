/**
 * Promoting region B: the consumer group's position on B from MirrorMaker 2's checkpoints
 * (src/offset-translation.ts), committed there before any worker of B starts. What runs around it
 * (stopping what is left of A's consumers first, starting B's workers, pointing the API at B) is the
 * operator's (`npm run region`) or the test's: this module only moves offsets.
 */
import { createKafka } from '../../../shared/kafka.js';
import type { Checkpoint } from './mirror-records.js';
import { commitTranslated, latestCheckpoints, readCheckpoints, translateOffsets } from './offset-translation.js';

export interface Promotion {
  /** The newest checkpoint per partition of the mirrored topic: what the translation started from. */
  checkpoints: Map<number, Checkpoint>;
  /** Where the group resumes on B, per partition (partitions without a checkpoint: B's earliest offset). */
  resumedAt: Map<number, number>;
}

export class PromotionError extends Error {
  constructor(readonly error: 'group_active_in_target', message: string) {
    super(message);
  }
}

export async function promote(o: { brokers: string[]; group: string; mirroredTopic: string; checkpointsTopic: string }): Promise<Promotion> {
  const all = await readCheckpoints(o.brokers, o.checkpointsTopic);
  const admin = createKafka(o.brokers, 'crm-lab-failover').admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([o.group]);
    const members = groups[0]?.members.length ?? 0;
    if (members > 0) {
      throw new PromotionError('group_active_in_target', `group ${o.group} already has ${members} member(s) in the target region: its offsets cannot be moved under them`);
    }
    const committed = await commitTranslated(admin, o.group, o.mirroredTopic, translateOffsets(all, o.group, o.mirroredTopic));
    return {
      checkpoints: latestCheckpoints(all, o.group, o.mirroredTopic),
      resumedAt: new Map(committed.map((c) => [c.partition, c.offset])),
    };
  } finally {
    await admin.disconnect();
  }
}
