/**
 * @confluentinc/kafka-javascript (librdkafka, a native addon), through its KafkaJS-compatible API.
 * Idempotence on (librdkafka then allows up to 5 requests in flight per broker and keeps their
 * sequence numbers itself), acks=all (set per producer: this API refuses it per send).
 * linger.ms=0: librdkafka otherwise waits up to 5 ms to fill a batch, which the other two clients
 * never do; its MIGRATION.md recommends 0 when every send is awaited, as here.
 * Its default partitioner is murmur2_random, the Java client's (and kafkajs') key → partition map.
 */
import type { BenchClient } from './bench-producer.js';
import { cachedVersion, requireCached } from './cached-packages.js';
import type { BenchMessage } from './workload.js';

/** The part of the package's KafkaJS API the bench uses (its types are in the cache folder, not here). */
interface ConfluentModule {
  librdkafkaVersion?: string;
  KafkaJS: {
    Kafka: new (config: { kafkaJS: { brokers: string[]; clientId: string; logLevel: number } }) => {
      producer(config: Record<string, unknown>): {
        connect(): Promise<void>;
        send(record: { topic: string; messages: BenchMessage[] }): Promise<unknown>;
        disconnect(): Promise<void>;
      };
    };
  };
}

const NAME = '@confluentinc/kafka-javascript';
const LOG_NOTHING = 0;

export const confluentClient: BenchClient = {
  slug: 'confluent',
  create(brokers, clientId) {
    const rdkafka = requireCached<ConfluentModule>(NAME);
    const producer = new rdkafka.KafkaJS.Kafka({ kafkaJS: { brokers, clientId, logLevel: LOG_NOTHING } })
      .producer({ 'linger.ms': 0, kafkaJS: { idempotent: true, acks: -1 } });
    return {
      client: `${NAME} ${cachedVersion(NAME)} (librdkafka ${rdkafka.librdkafkaVersion ?? '?'})`,
      settings: 'idempotent: true, acks: -1, linger.ms: 0 (default 5)',
      connect: () => producer.connect(),
      async send(topic, messages) {
        await producer.send({ topic, messages });
      },
      close: () => producer.disconnect(),
    };
  },
};
