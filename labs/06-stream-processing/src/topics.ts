import type { Kafka } from 'kafkajs';
import { changelogTopicOf, type StreamsSettings } from './settings.js';

/**
 * Creates the input (if missing), the four outputs and the compacted changelog, each with the
 * input's partition count: changelog partition p holds the state of input partition p.
 */
export async function ensureStreamsTopics(kafka: Kafka, s: StreamsSettings, inputPartitions: number): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    if (!existing.has(s.STREAMS_INPUT_TOPIC)) {
      await createIgnoringRace(admin, [{ topic: s.STREAMS_INPUT_TOPIC, numPartitions: inputPartitions, replicationFactor: 1 }]);
    }
    const metadata = await admin.fetchTopicMetadata({ topics: [s.STREAMS_INPUT_TOPIC] });
    const partitions = metadata.topics[0]!.partitions.length;
    const wanted = [
      ...[s.HOURLY_TOPIC, s.ACTIVITY_TOPIC, s.LOGINS_TOPIC, s.LATE_TOPIC].map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
      // Compacted: only the latest value of each state key matters; a tombstone deletes a closed window.
      { topic: changelogTopicOf(s), numPartitions: partitions, replicationFactor: 1,
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    ].filter((t) => !existing.has(t.topic));
    if (wanted.length > 0) await createIgnoringRace(admin, wanted);
    return partitions;
  } finally {
    await admin.disconnect();
  }
}

async function createIgnoringRace(admin: ReturnType<Kafka['admin']>, topics: Parameters<ReturnType<Kafka['admin']>['createTopics']>[0]['topics']) {
  try {
    await admin.createTopics({ topics, waitForLeaders: false });
  } catch (error) {
    // Another processor created them first.
    if (!String(error).includes('already exists')) throw error;
  }
  // kafkajs' waitForLeaders gives up on UNKNOWN_TOPIC_OR_PARTITION while the metadata spreads: poll instead.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) })
      .then((m) => m.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)), () => false);
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`topics ${topics.map((t) => t.topic).join(', ')} have no leaders after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
