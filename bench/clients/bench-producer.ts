/** What the bench needs from a Kafka client: one file per client implements it (*-producer.ts). */
import type { BenchMessage } from './workload.js';

export interface BenchProducer {
  /** Package and version, e.g. "kafkajs 2.2.4". */
  readonly client: string;
  /** The settings the bench gives it beyond its defaults, printed with the results. */
  readonly settings: string;
  connect(): Promise<void>;
  /** Resolves once the broker acked every message of the send (acks=all); rejects otherwise. */
  send(topic: string, messages: BenchMessage[]): Promise<void>;
  close(): Promise<void>;
}

export interface BenchClient {
  /** Short name, also part of topic names. */
  slug: string;
  create(brokers: string[], clientId: string): BenchProducer;
}
