/**
 * Creating the lab's topics with the configured replication, and refusing to run on a topic that
 * has less: with acks=all, an event is acked once `min.insync.replicas` copies have it, so a topic
 * created with one replica on a real cluster would ack events that one disk failure loses.
 */
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { loadConfig, topicReplicationOf, type TopicReplication } from './config.js';

// kafkajs is CommonJS, and Node's ESM loader does not see this enum as a named export (tsx, unlike vitest).
const { ConfigResourceTypes } = kafkajs;

export type TopicSetupErrorCode = 'invalid_replication' | 'replication_unavailable' | 'topic_under_replicated';

/** Why the lab will not use a topic; `toJSON()` is the lab's `{error, message}` shape. */
export class TopicSetupError extends Error {
  constructor(readonly error: TopicSetupErrorCode, message: string) {
    super(message);
    this.name = 'TopicSetupError';
  }

  toJSON(): { error: TopicSetupErrorCode; message: string } {
    return { error: this.error, message: this.message };
  }
}

export interface EnsureTopicOptions extends Partial<TopicReplication> {
  /**
   * Let kafkajs wait for a leader per partition after creating it (default true). A multi-broker
   * cluster waits itself (infra/kafka-cluster.ts): kafkajs gives up while a broker has not heard of
   * the topic yet.
   */
  waitForLeaders?: boolean;
}

/** Kafka's error type for a replication factor above the registered brokers, anywhere in a kafkajs error. */
function isInvalidReplicationFactor(error: unknown): boolean {
  const e = error as { type?: string; errors?: unknown[] } | undefined;
  return e?.type === 'INVALID_REPLICATION_FACTOR' || (e?.errors ?? []).some(isInvalidReplicationFactor);
}

async function topicMinInsyncReplicas(admin: Admin, topic: string): Promise<number> {
  const { resources } = await admin.describeConfigs({ includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas'] }] });
  return Number(resources[0]?.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue ?? 1);
}

/**
 * Creates the topic if it does not exist yet, with the replication factor and min.insync.replicas
 * given or configured (KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS); returns its partition
 * count. Throws a TopicSetupError when the cluster has too few brokers for that replication, or when
 * the existing topic has fewer replicas (or a lower min.insync.replicas) than configured.
 */
export async function ensureTopic(kafka: Kafka, topic: string, numPartitions: number, opts: EnsureTopicOptions = {}): Promise<number> {
  // A topic just created may not be in every broker's metadata yet: kafkajs' own wait for its
  // leaders then fails with UNKNOWN_TOPIC_OR_PARTITION (retriable), seen under load. Ask again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await ensureTopicOnce(kafka, topic, numPartitions, opts);
    } catch (error) {
      if (error instanceof TopicSetupError || !(error as { retriable?: boolean }).retriable || attempt >= 40) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

async function ensureTopicOnce(kafka: Kafka, topic: string, numPartitions: number, opts: EnsureTopicOptions): Promise<number> {
  const configured = topicReplicationOf(loadConfig());
  const { replicationFactor = configured.replicationFactor, minInsyncReplicas = configured.minInsyncReplicas } = opts;
  if (minInsyncReplicas > replicationFactor) {
    throw new TopicSetupError('invalid_replication', `topic ${topic}: min.insync.replicas ${minInsyncReplicas} exceeds `
      + `the replication factor ${replicationFactor}, so no acks=all write could succeed`);
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      let created: boolean;
      try {
        created = await admin.createTopics({
          topics: [{ topic, numPartitions, replicationFactor,
            configEntries: [{ name: 'min.insync.replicas', value: String(minInsyncReplicas) }] }],
          waitForLeaders: opts.waitForLeaders ?? true,
        });
      } catch (error) {
        if (!isInvalidReplicationFactor(error)) throw error;
        const { brokers } = await admin.describeCluster();
        throw new TopicSetupError('replication_unavailable', `cannot create topic ${topic} with replication factor `
          + `${replicationFactor}: the cluster has ${brokers.length} broker(s). Start more brokers or lower KAFKA_REPLICATION_FACTOR.`);
      }
      // Created here, with the replication asked for. (Its metadata may not have reached every broker
      // yet when the caller waits for leaders itself.) One created meanwhile by another process is checked.
      if (created) return numPartitions;
    }
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = metadata.topics[0]!.partitions;
    const fewest = Math.min(...partitions.map((p) => p.replicas.length));
    if (fewest < replicationFactor) {
      throw new TopicSetupError('topic_under_replicated', `topic ${topic} exists with ${fewest} replica(s) per partition, `
        + `fewer than KAFKA_REPLICATION_FACTOR=${replicationFactor}: an acked event could have fewer copies than configured. `
        + 'Reassign its replicas (kafka-reassign-partitions) or recreate it, or lower KAFKA_REPLICATION_FACTOR.');
    }
    const topicMinIsr = await topicMinInsyncReplicas(admin, topic);
    if (topicMinIsr < minInsyncReplicas) {
      throw new TopicSetupError('topic_under_replicated', `topic ${topic} exists with min.insync.replicas ${topicMinIsr}, `
        + `below KAFKA_MIN_INSYNC_REPLICAS=${minInsyncReplicas}: acks=all would ack with fewer copies than configured. `
        + 'Raise it (kafka-configs --alter) or lower KAFKA_MIN_INSYNC_REPLICAS.');
    }
    return partitions.length;
  } finally {
    await admin.disconnect();
  }
}
