import type { Admin } from 'kafkajs';

export interface PartitionLag {
  partition: number;
  /** Next offset the group will read (-1: nothing committed yet, so it reads from the log start). */
  committed: number;
  /** Log end offset (high watermark). */
  end: number;
  lag: number;
}

/** Retries what Kafka calls retriable (e.g. NOT_COORDINATOR while __consumer_offsets is being created). */
async function retriable<T>(call: () => Promise<T>, attempts = 20): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= attempts || !(error as { retriable?: boolean }).retriable) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Consumer lag per partition: log end offset minus the group's committed offset. */
export async function consumerLag(admin: Admin, groupId: string, topic: string): Promise<PartitionLag[]> {
  const [ends, [committed]] = await Promise.all([
    retriable(() => admin.fetchTopicOffsets(topic)),
    retriable(() => admin.fetchOffsets({ groupId, topics: [topic] })),
  ]);
  const committedBy = new Map(committed?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
  return ends
    .map((p) => {
      const end = Number(p.high);
      const done = committedBy.get(p.partition) ?? -1;
      return { partition: p.partition, committed: done, end, lag: end - (done >= 0 ? done : Number(p.low)) };
    })
    .sort((a, b) => a.partition - b.partition);
}

export const totalLag = (lags: PartitionLag[]) => lags.reduce((sum, p) => sum + p.lag, 0);
