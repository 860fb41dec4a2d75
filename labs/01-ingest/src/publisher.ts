import type { Kafka, Producer, RecordMetadata } from 'kafkajs';
import type { Logger } from 'pino';
import { createEventProducer, ensureTopic } from '../../../shared/kafka.js';
import type { EnrichedEvent } from '../../../shared/schema.js';

/** Kafka did not confirm the write: the API answers 503 and the client may retry with the same event_id. */
export class KafkaUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KafkaUnavailableError';
  }
}

/**
 * Owns the one producer of an API process. `publish` resolves only once the broker has
 * acked the write (acks=all), and rejects with KafkaUnavailableError after `timeoutMs`.
 */
export class EventPublisher {
  private readonly producer: Producer;
  private connected = false;
  private stopped = false;
  private consecutiveFailures = 0;
  private connectLoop?: Promise<void>;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: { topic: string; partitions: number; timeoutMs: number; log?: Logger },
  ) {
    this.producer = createEventProducer(kafka);
  }

  private get topic() {
    return this.options.topic;
  }

  private get log() {
    return this.options.log;
  }

  /** Creates the topic if missing and connects, in the background, retrying every second until Kafka answers. */
  start(): Promise<void> {
    this.connectLoop ??= (async () => {
      while (!this.stopped && !this.connected) {
        try {
          await ensureTopic(this.kafka, this.topic, this.options.partitions);
          await this.producer.connect();
          this.connected = true;
          this.log?.info({ topic: this.topic }, 'kafka producer connected');
        } catch (error) {
          this.log?.warn({ err: error }, 'kafka producer cannot connect yet; retrying');
          await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
      }
    })();
    return this.connectLoop;
  }

  /**
   * Connected, and the last write (if any) was acked. After a failed write, asking starts a cheap
   * metadata request (at most one a second), so readiness comes back once Kafka does, without
   * waiting for a write to succeed.
   */
  get ready(): boolean {
    if (this.connected && this.consecutiveFailures > 0) this.probe();
    return this.connected && this.consecutiveFailures === 0;
  }

  private lastProbe = 0;

  private probe(): void {
    if (Date.now() - this.lastProbe < 1_000) return;
    this.lastProbe = Date.now();
    const admin = this.kafka.admin();
    void admin.connect()
      .then(() => admin.fetchTopicMetadata({ topics: [this.topic] }))
      .then(({ topics }) => {
        if (topics[0]?.partitions.every((p) => p.leader >= 0)) this.consecutiveFailures = 0;
      })
      .catch(() => undefined)
      .finally(() => admin.disconnect().catch(() => undefined));
  }

  /**
   * `headers` are added to the message's own (event_id), e.g. the request id and trace spans.
   * `value`: the record value already encoded (lab 05's Avro); default the event as JSON.
   */
  async publish(event: EnrichedEvent, headers: Record<string, string> = {}, value?: Buffer): Promise<RecordMetadata> {
    if (!this.connected) throw new KafkaUnavailableError('Kafka producer is not connected');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new KafkaUnavailableError(`Kafka did not ack within ${this.options.timeoutMs} ms`)),
        this.options.timeoutMs,
      );
    });
    try {
      const send = this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: [{ key: event.user_id, value: value ?? JSON.stringify(event), headers: { ...headers, event_id: event.event_id } }],
      });
      send.catch(() => undefined); // a send that loses the race must not become an unhandled rejection
      const [metadata] = await Promise.race([send, timeout]);
      this.consecutiveFailures = 0;
      return metadata!;
    } catch (error) {
      this.consecutiveFailures++;
      if (error instanceof KafkaUnavailableError) throw error;
      throw new KafkaUnavailableError(`Kafka rejected the write: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.connectLoop;
    await this.producer.disconnect();
    this.connected = false;
  }
}
