/**
 * kafkajs 2.2.4, the lab's client, with the lab's producer settings (shared/kafka.ts
 * createEventProducer: one request in flight per broker, murmur2 partitioner, 3 retries) and
 * idempotence on. The lab found that kafkajs' idempotent producer is safe only with ONE send in
 * flight (labs/03-failure scenario 5, kafkajs issue #1005): the 50-concurrent phase runs it anyway,
 * and the stored-check counts what that costs.
 */
import { createRequire } from 'node:module';
import { createEventProducer, createKafka } from '../../shared/kafka.js';
import type { BenchClient } from './bench-producer.js';

const KAFKAJS_VERSION: string = createRequire(import.meta.url)('kafkajs/package.json').version;

export const kafkajsClient: BenchClient = {
  slug: 'kafkajs',
  create(brokers, clientId) {
    const producer = createEventProducer(createKafka(brokers, clientId), { idempotent: true });
    return {
      client: `kafkajs ${KAFKAJS_VERSION}`,
      settings: 'idempotent: true, acks: -1 per send, the lab\'s createEventProducer (maxInFlightRequests: 1)',
      connect: () => producer.connect(),
      async send(topic, messages) {
        await producer.send({ topic, acks: -1, messages });
      },
      close: () => producer.disconnect(),
    };
  },
};
