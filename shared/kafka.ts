import { Kafka, logLevel, Partitioners, type KafkaConfig, type Producer } from 'kafkajs';

export { Partitioners };

const kafkajsLogLevels: Record<string, logLevel> = {
  nothing: logLevel.NOTHING, error: logLevel.ERROR, warn: logLevel.WARN, info: logLevel.INFO, debug: logLevel.DEBUG,
};

/** A kafkajs client with the lab's defaults: short connection timeouts, logs at KAFKAJS_LOG_LEVEL (default error). */
export function createKafka(brokers: string[], clientId: string, overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    brokers,
    clientId,
    logLevel: kafkajsLogLevels[process.env.KAFKAJS_LOG_LEVEL ?? 'error'] ?? logLevel.ERROR,
    connectionTimeout: 1_000,
    requestTimeout: 10_000,
    ...overrides,
  });
}

/**
 * The producer settings every lab uses: acks=all on send, idempotent (no duplicates from
 * the producer's own retries), and the Java-compatible murmur2 partitioner, so a user_id
 * always maps to the same partition.
 */
export function createEventProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}

/** Creates the topic if it does not exist yet; returns its partition count. */
export async function ensureTopic(kafka: Kafka, topic: string, numPartitions: number): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor: 1 }], waitForLeaders: true });
    }
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    return metadata.topics[0]!.partitions.length;
  } finally {
    await admin.disconnect();
  }
}

/** Kafka's murmur2 (as in the Java client), for `partitionFor`. */
function murmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  const r = 24;
  let h = 0x9747b28c ^ data.length;
  const length4 = data.length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = data.length & 3;
  const tail = length4 * 4;
  if (rest === 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h;
}

/** The partition the Java client (and kafkajs' DefaultPartitioner) picks for a key. */
export function partitionFor(key: string, numPartitions: number): number {
  return (murmur2(Buffer.from(key)) & 0x7fffffff) % numPartitions;
}
