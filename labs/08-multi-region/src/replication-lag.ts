/**
 * Replication lag of A → B, in records, per partition: A's end offset minus the upstream offset B
 * has reached. B's end is in B's offsets; MirrorMaker's newest offset sync for the partition
 * (read from A's `mm2-offset-syncs.B.internal`) gives the shift between the two (upstream −
 * downstream). Exposed as the gauge `mirror_replication_lag_records` (read on scrape), alerted on
 * by labs/08-multi-region/alerts.yml.
 */
import { Gauge, type Registry } from 'prom-client';
import { createKafka } from '../../../shared/kafka.js';
import { scanTopic } from '../../../shared/scan-topic.js';
import { decodeOffsetSync } from './mirror-records.js';

export interface PartitionReplicationLag {
  partition: number;
  /** A's end offset (high watermark). */
  sourceEnd: number;
  /** B's end offset on the mirrored topic. */
  targetEnd: number;
  /** Upstream minus downstream offset of the newest offset sync (absent: none yet). */
  shift?: number;
  /** Records A holds that B does not (A's records since its log start when there is no sync yet). */
  lag: number;
}

export interface LagSources {
  sourceBrokers: string[];
  targetBrokers: string[];
  topic: string;
  mirroredTopic: string;
  offsetSyncsTopic: string;
}

export async function replicationLag(o: LagSources): Promise<PartitionReplicationLag[]> {
  const shift = new Map<number, number>();
  await scanTopic(o.sourceBrokers, o.offsetSyncsTopic, (_p, m) => {
    if (!m.key || !m.value) return;
    const sync = decodeOffsetSync(m.key, m.value);
    if (sync.topic === o.topic) shift.set(sync.partition, Number(sync.upstreamOffset - sync.downstreamOffset));
  }, { clientId: 'crm-lab-replication-lag' });
  const source = createKafka(o.sourceBrokers, 'crm-lab-replication-lag').admin();
  const target = createKafka(o.targetBrokers, 'crm-lab-replication-lag').admin();
  await Promise.all([source.connect(), target.connect()]);
  try {
    const [a, b] = await Promise.all([source.fetchTopicOffsets(o.topic), target.fetchTopicOffsets(o.mirroredTopic).catch(() => [])]);
    const bEnd = new Map(b.map((p) => [p.partition, Number(p.high)]));
    return a.map((p) => {
      const s = shift.get(p.partition);
      const targetEnd = bEnd.get(p.partition) ?? 0;
      const lag = s === undefined ? Number(p.high) - Number(p.low) : Number(p.high) - (targetEnd + s);
      return { partition: p.partition, sourceEnd: Number(p.high), targetEnd, shift: s, lag: Math.max(0, lag) };
    });
  } finally {
    await Promise.all([source.disconnect(), target.disconnect()]);
  }
}

/** Registers `mirror_replication_lag_records{source,target,topic,partition}`, read from both clusters on each scrape. */
export function replicationLagGauge(registry: Registry, o: LagSources & { source: string; target: string }): Gauge {
  return new Gauge({
    name: 'mirror_replication_lag_records',
    help: 'Records the source region holds that the target region does not yet (MirrorMaker 2), per partition',
    labelNames: ['source', 'target', 'topic', 'partition'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const p of await replicationLag(o)) {
        this.set({ source: o.source, target: o.target, topic: o.topic, partition: String(p.partition) }, p.lag);
      }
    },
  });
}
