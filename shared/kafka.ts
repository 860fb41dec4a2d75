import { scanTopic } from './scan-topic.js';
import { Kafka, logLevel, Partitioners, type IHeaders, type KafkaConfig, type Message, type Producer } from 'kafkajs';
import { kafkaSecurityFromEnv } from './kafka-security.js';

export { Partitioners };

const kafkajsLogLevels: Record<string, logLevel> = {
  nothing: logLevel.NOTHING, error: logLevel.ERROR, warn: logLevel.WARN, info: logLevel.INFO, debug: logLevel.DEBUG,
};

/**
 * A kafkajs client with the lab's defaults: short connection timeouts, logs at KAFKAJS_LOG_LEVEL
 * (default error), and TLS/SASL when the environment asks for them (shared/kafka-security.ts; none by default).
 */
export function createKafka(brokers: string[], clientId: string, overrides: Partial<KafkaConfig> = {}): Kafka {
  const security = kafkaSecurityFromEnv(process.env);
  return new Kafka({
    brokers,
    clientId,
    logLevel: kafkajsLogLevels[process.env.KAFKAJS_LOG_LEVEL ?? 'error'] ?? logLevel.ERROR,
    // A TLS handshake and a SCRAM exchange take more than a plain connect on a busy machine.
    connectionTimeout: security.ssl || security.sasl ? 5_000 : 1_000,
    requestTimeout: 10_000,
    ...security,
    ...overrides,
  });
}

/**
 * The producer settings every lab uses: acks=all on send (set per send), one request in flight
 * per broker (the producer's retries keep a user's order), and the Java-compatible murmur2
 * partitioner, so a user_id always maps to the same partition.
 *
 * `idempotent` (default false here; the API's publisher turns it on): the broker drops a retried
 * batch it already wrote. kafkajs 2.2.4 keeps its sequence numbers safe only when one send() is in
 * flight at a time and the producer is replaced after a send that failed; the API's publisher
 * (labs/01-ingest/src/publisher.ts) does both. Concurrent sends on an idempotent producer can ack
 * an event the broker then drops (measured in labs/03-failure, scenario 5; kafkajs issue #1005).
 * `onPartitioned` sees the partition chosen for each message (the publisher derives offsets from it).
 */
export function createEventProducer(
  kafka: Kafka,
  opts: { idempotent?: boolean; onPartitioned?: (message: Message, partition: number) => void } = {},
): Producer {
  const { onPartitioned } = opts;
  return kafka.producer({
    idempotent: opts.idempotent ?? false,
    maxInFlightRequests: 1,
    createPartitioner: onPartitioned
      ? () => {
        const choose = Partitioners.DefaultPartitioner();
        return (args) => {
          const partition = choose(args);
          onPartitioned(args.message, partition);
          return partition;
        };
      }
      : Partitioners.DefaultPartitioner,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}

// Topic creation with the configured replication lives in shared/topics.ts.
export { ensureTopic, TopicSetupError, type EnsureTopicOptions } from './topics.js';

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

export interface ReadRecord<T = any> {
  partition: number;
  offset: number;
  key: string | null;
  value: T;
  headers: Record<string, string>;
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (v !== undefined) out[k] = String(v);
  return out;
}

/**
 * Reads every message stored in the topic at the time of the call (up to each partition's
 * high watermark), in partition then offset order. Values are parsed as JSON.
 */
export async function readTopic<T = any>(brokers: string[], topic: string, timeoutMs = 30_000): Promise<ReadRecord<T>[]> {
  const records: ReadRecord<T>[] = [];
  await scanTopic(brokers, topic, (partition, message) => records.push({
    partition,
    offset: Number(message.offset),
    key: message.key?.toString() ?? null,
    value: message.value ? JSON.parse(message.value.toString()) : null,
    headers: decodeHeaders(message.headers),
  }), { timeoutMs, clientId: 'crm-lab-test-reader' });
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
