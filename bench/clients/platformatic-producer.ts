/**
 * @platformatic/kafka (pure TypeScript, no native addon): idempotent producer, acks=all.
 * Its default partitioner is murmur2 read as unsigned (`>>> 0`), not the Java client's
 * (`& 0x7fffffff`) that kafkajs and librdkafka use: with a partition count that is not a power of
 * two, the same user_id would land on another partition than with the lab's producers, breaking
 * per-user order across a mixed fleet. The bench passes its `compatibilityPartitioner`.
 */
import type { BenchClient } from './bench-producer.js';
import { cachedVersion, importCached } from './cached-packages.js';
import type { BenchMessage } from './workload.js';

type Partitioner = (...args: never[]) => number;

/** The part of the package's API the bench uses (its types are in the cache folder, not here). */
interface PlatformaticModule {
  stringSerializers: unknown;
  compatibilityPartitioner: Partitioner;
  Producer: new (options: Record<string, unknown>) => {
    send(options: { messages: (BenchMessage & { topic: string })[] }): Promise<unknown>;
    close(): Promise<void>;
  };
}

const NAME = '@platformatic/kafka';
const ACKS_ALL = -1;
let loaded: PlatformaticModule | undefined;

export const platformaticClient: BenchClient = {
  slug: 'platformatic',
  create(brokers, clientId) {
    let producer: InstanceType<PlatformaticModule['Producer']> | undefined;
    return {
      client: `${NAME} ${cachedVersion(NAME)}`,
      settings: 'idempotent: true, acks: -1, compatibilityPartitioner (Java murmur2)',
      async connect() {
        loaded ??= await importCached<PlatformaticModule>(NAME);
        producer = new loaded.Producer({
          clientId, bootstrapBrokers: brokers, serializers: loaded.stringSerializers,
          idempotent: true, acks: ACKS_ALL, partitioner: loaded.compatibilityPartitioner,
        });
      },
      async send(topic, messages) {
        await producer!.send({ messages: messages.map((m) => ({ ...m, topic })) });
      },
      close: async () => producer?.close(),
    };
  },
};
