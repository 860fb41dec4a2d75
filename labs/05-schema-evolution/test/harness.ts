/** Lab 05's pieces started in the test process, on the shared broker and a registry of the test file's own. */
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Producer } from 'kafkajs';
import { waitFor } from '../../../infra/processes.js';
import { loadConfig } from '../../../shared/config.js';
import { createEventProducer, createKafka } from '../../../shared/kafka.js';
import { createTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { buildApp } from '../../01-ingest/src/app.js';
import { EventPublisher, publisherOptionsFrom } from '../../01-ingest/src/publisher.js';
import { readRawTopic as readBytes } from '../../04-dlq/src/raw-records.js';
import type { EventWorker } from '../../02-consumer-groups/src/worker.js';
import { AvroEventDecoder } from '../src/avro-decoder.js';
import { AvroEventEncoder } from '../src/avro-encoder.js';
import { avroLanes } from '../src/avro-lanes.js';
import { DeviceProfileStore } from '../src/device-store.js';
import { createRegistryClient, registerSchemas } from '../src/schema-registry.js';
import { subjectOf, type SchemaVersion } from '../src/schemas.js';

export interface AvroApi {
  url: string;
  app: FastifyInstance;
  codec: AvroEventEncoder;
  close(): Promise<void>;
}

/** Lab 01's app with lab 05's codec, writing `version` to `topic`. */
export async function startAvroApi(o: { brokers: string[]; registryUrl: string; topic: string; version: SchemaVersion }): Promise<AvroApi> {
  const config = loadConfig({ LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '100000', KAFKA_BROKERS: o.brokers.join(','), KAFKA_TOPIC: o.topic, API_INSTANCE_ID: `api-v${o.version}` });
  const publisher = new EventPublisher(createKafka(config.kafkaBrokers, `lab05-api-v${o.version}`), publisherOptionsFrom(config));
  await publisher.start();
  const codec = new AvroEventEncoder(createRegistryClient(o.registryUrl), { subject: subjectOf(o.topic), version: o.version });
  const app = await buildApp(config, publisher, undefined, { codec });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url, app, codec,
    async close() {
      await app.close();
      await publisher.stop();
    },
  };
}

export interface AvroWorker {
  id: string;
  lanes: EventWorker[];
  store: DeviceProfileStore;
  decoder: AvroEventDecoder;
  stop(): Promise<void>;
}

/** Lab 05's worker (both lanes, DLQ) in this process; `useReaderSchema: false` only for the control test. */
export async function startAvroWorker(o: {
  id: string; brokers: string[]; registryUrl: string; version: SchemaVersion; profileDb: string;
  topic: string; groupId: string; retryTopic: string; dlqTopic: string; maxAttempts?: number; useReaderSchema?: boolean;
}): Promise<AvroWorker> {
  const kafka = createKafka(o.brokers, o.id);
  const producer = createEventProducer(kafka);
  await producer.connect();
  const store = new DeviceProfileStore(o.profileDb, { busyTimeoutMs: 1_000 });
  const log = pino({ level: 'silent' });
  const decoder = new AvroEventDecoder(createRegistryClient(o.registryUrl), o.version, o.useReaderSchema ?? true);
  const lanes = avroLanes({
    common: { kafka, workerId: o.id, store, log, commitEvery: 1 },
    decoder,
    topic: o.topic,
    groupId: o.groupId,
    retryGroupId: `${o.groupId}-retry`,
    deadLetter: { producer, retryTopic: o.retryTopic, dlqTopic: o.dlqTopic, policy: { maxAttempts: o.maxAttempts ?? 2, baseDelayMs: 50 }, log },
  });
  await Promise.all(lanes.map((lane) => lane.start()));
  return {
    id: o.id, lanes, store, decoder,
    async stop() {
      await Promise.all(lanes.map((lane) => lane.stop()));
      await producer.disconnect();
      store.close();
    },
  };
}

/** Sums a stat over a worker's lanes. */
export const statOf = (worker: AvroWorker, stat: keyof EventWorker['stats']) => worker.lanes.reduce((n, lane) => n + lane.stats[stat], 0);

export interface RawRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

/** Every record in the topic now, values as bytes (lab 04's reader; keys as text, a null value as empty bytes). */
export async function readRawTopic(brokers: string[], topic: string): Promise<RawRecord[]> {
  return (await readBytes(brokers, topic)).map((r) => ({
    partition: r.partition,
    offset: r.offset,
    key: r.key?.toString() ?? null,
    value: r.value ?? Buffer.alloc(0),
    headers: r.headers,
  }));
}

/** Sends raw record values (JSON text, Avro bytes, garbage) as another producer would. */
export async function sendRaw(producer: Producer, topic: string, records: { key: string; value: Buffer | string }[]): Promise<void> {
  await producer.send({ topic, acks: -1, messages: records });
}

export interface LabTopics {
  topic: string;
  retryTopic: string;
  dlqTopic: string;
  groupId: string;
  /** The registry's ids of v1 and v2 under the topic's subject. */
  ids: Record<SchemaVersion, number>;
}

/** A topic of its own (2 partitions) with retry and DLQ topics, and v1, v2 registered under its subject. */
export async function freshTopics(brokers: string[], ccompatUrl: string, prefix: string): Promise<LabTopics> {
  const t = { topic: uniqueTopic(prefix), retryTopic: uniqueTopic(`${prefix}-retry`), dlqTopic: uniqueTopic(`${prefix}-dlq`), groupId: uniqueTopic(`${prefix}-group`) };
  for (const [name, partitions] of [[t.topic, 2], [t.retryTopic, 1], [t.dlqTopic, 1]] as const) {
    // Under load the broker can answer UNKNOWN_TOPIC_OR_PARTITION while kafkajs waits for the
    // new topic's leaders; creating is idempotent, so try again.
    await waitFor(`topic ${name} created`, async () => {
      await createTopic(brokers, name, partitions);
      return true;
    }, { timeoutMs: 30_000, intervalMs: 500 });
  }
  return { ...t, ids: await registerSchemas(ccompatUrl, t.topic) };
}
