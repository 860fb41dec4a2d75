/**
 * Topic replication is configuration (KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS), on the
 * shared single broker: topics are created with it, and a topic with fewer replicas than configured,
 * or a replication the cluster cannot give, is refused with an error naming the topic and the numbers.
 */
import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig, topicReplicationOf } from './config.js';
import { createKafka, ensureTopic, TopicSetupError } from './kafka.js';
import { uniqueTopic } from './testing/kafka.js';

const { brokers } = inject('kafka');
const kafka = createKafka(brokers, 'topic-replication-test');
const admin = kafka.admin();
beforeAll(() => admin.connect());
afterAll(() => admin.disconnect());

async function describeTopic(topic: string) {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const { resources } = await admin.describeConfigs({ includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas'] }] });
  return {
    replicas: topics[0]!.partitions.map((p) => p.replicas.length),
    minInsyncReplicas: Number(resources[0]!.configEntries.find((e) => e.configName === 'min.insync.replicas')!.configValue),
  };
}

async function refusal(promise: Promise<unknown>): Promise<TopicSetupError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(TopicSetupError);
  return error as TopicSetupError;
}

describe('topic replication from the configuration', () => {
  it('defaults to 1 replica and min.insync.replicas 1 (one local broker), read from the environment', () => {
    expect(topicReplicationOf(loadConfig({}))).toEqual({ replicationFactor: 1, minInsyncReplicas: 1 });
    expect(topicReplicationOf(loadConfig({ KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' })))
      .toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
  });

  it('refuses a min.insync.replicas above the replication factor (acks=all could never succeed)', () => {
    expect(() => loadConfig({ KAFKA_REPLICATION_FACTOR: '2', KAFKA_MIN_INSYNC_REPLICAS: '3' }))
      .toThrow(/KAFKA_MIN_INSYNC_REPLICAS.*3.*KAFKA_REPLICATION_FACTOR.*2/);
    expect(() => loadConfig({ KAFKA_REPLICATION_FACTOR: '0' })).toThrow(/KAFKA_REPLICATION_FACTOR/);
  });

  it('creates a topic with the configured replication factor and min.insync.replicas', async () => {
    const topic = uniqueTopic('replication-created');
    expect(await ensureTopic(kafka, topic, 2, { replicationFactor: 1, minInsyncReplicas: 1 })).toBe(2);
    expect(await describeTopic(topic)).toEqual({ replicas: [1, 1], minInsyncReplicas: 1 });
  });

  it('takes the replication from KAFKA_REPLICATION_FACTOR when none is given', async () => {
    const topic = uniqueTopic('replication-env');
    const previous = process.env.KAFKA_REPLICATION_FACTOR;
    process.env.KAFKA_REPLICATION_FACTOR = '2';
    try {
      const error = await refusal(ensureTopic(kafka, topic, 1));
      expect(error.error).toBe('replication_unavailable');
    } finally {
      if (previous === undefined) delete process.env.KAFKA_REPLICATION_FACTOR;
      else process.env.KAFKA_REPLICATION_FACTOR = previous;
    }
  });

  it('refuses to create a topic with 2 replicas on a 1-broker cluster, names the topic and the brokers, and creates nothing', async () => {
    const topic = uniqueTopic('replication-unavailable');
    const error = await refusal(ensureTopic(kafka, topic, 2, { replicationFactor: 2, minInsyncReplicas: 1 }));
    expect(error.toJSON()).toEqual({ error: 'replication_unavailable', message: error.message });
    expect(error.message).toContain(topic);
    expect(error.message).toMatch(/replication factor 2/);
    expect(error.message).toMatch(/1 broker/);
    expect(await admin.listTopics()).not.toContain(topic);
  });

  it('refuses an existing topic with fewer replicas than configured (1 where 2 are configured)', async () => {
    const topic = uniqueTopic('replication-under');
    await ensureTopic(kafka, topic, 2, { replicationFactor: 1, minInsyncReplicas: 1 });
    const error = await refusal(ensureTopic(kafka, topic, 2, { replicationFactor: 2, minInsyncReplicas: 1 }));
    expect(error.toJSON()).toEqual({ error: 'topic_under_replicated', message: error.message });
    expect(error.message).toContain(topic);
    expect(error.message).toMatch(/1 replica/);
    expect(error.message).toMatch(/KAFKA_REPLICATION_FACTOR=2/);
  });

  it('refuses a replication given in code with min.insync.replicas above its factor, before asking the broker', async () => {
    const topic = uniqueTopic('replication-invalid');
    const error = await refusal(ensureTopic(kafka, topic, 1, { replicationFactor: 1, minInsyncReplicas: 2 }));
    expect(error.error).toBe('invalid_replication');
    expect(await admin.listTopics()).not.toContain(topic);
  });
});
