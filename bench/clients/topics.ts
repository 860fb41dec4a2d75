/**
 * Creates the bench's topics up front and waits until the broker serves every partition: on a
 * broker that has just started, a topic's metadata can lag its creation ("This server does not
 * host this topic-partition"), which a client's first send must not be timed against.
 */
import { createKafka } from '../../shared/kafka.js';
import { waitFor } from '../../infra/processes.js';

export async function createTopics(brokers: string[], topics: string[], partitions: number): Promise<void> {
  const admin = createKafka(brokers, 'bench-clients-setup').admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })), waitForLeaders: true });
    }
    await waitFor(`leaders for the ${partitions} partitions of ${topics.length} topics`, async () => {
      const { topics: described } = await admin.fetchTopicMetadata({ topics });
      return described.length === topics.length
        && described.every((t) => t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0));
    }, { timeoutMs: 60_000, intervalMs: 250 });
  } finally {
    await admin.disconnect();
  }
}
