import type { Kafka, Message, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../../../shared/config.js';
import { createEventProducer, ensureTopic, TopicSetupError } from '../../../shared/kafka.js';
import type { EnrichedEvent } from '../../../shared/schema.js';
import { SendQueue } from './send-queue.js';

/**
 * What a 503'd event may still become: `not-sent` — it never left this process and never will
 * (it timed out in the queue, the queue was full, or the producer was not connected);
 * `unknown` — it was in a produce request that had not answered, which may yet store it.
 */
export type UnackedFate = 'not-sent' | 'unknown';

/** Kafka did not confirm the write: the API answers 503 and the client may retry with the same event_id. */
export class KafkaUnavailableError extends Error {
  constructor(message: string, readonly fate: UnackedFate, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KafkaUnavailableError';
  }
}

/** Where the broker stored an event. */
export interface EventAck {
  partition: number;
  offset: number;
}

/** What the API needs from a publisher. */
export interface EventSink {
  /**
   * Resolves once the broker acked this event (acks=all); rejects with KafkaUnavailableError.
   * `value`: the record value already encoded (lab 05's Avro); without it, the event as JSON.
   */
  publish(event: EnrichedEvent, headers?: Record<string, string>, value?: Buffer): Promise<EventAck>;
  /** Connected, and the last write (if any) was acked. */
  readonly ready: boolean;
}

export interface PublisherOptions {
  topic: string;
  partitions: number;
  /** How long one event may wait for its ack, from publish() to the broker's answer. */
  timeoutMs: number;
  /** Wait this long for more events before sending; 0 = one produce request per event, concurrently. */
  lingerMs: number;
  batchMaxEvents: number;
  batchMaxBytes: number;
  /**
   * Caps on what may still be sent (memory and count); beyond them: 503 at once, nothing sent.
   * Batching: the events waiting for the next produce request. PRODUCER_LINGER_MS=0: the sends
   * kafkajs has not settled yet, answered or not (a 503'd one included: kafkajs keeps sending it).
   */
  maxQueuedEvents: number;
  maxQueuedBytes: number;
  idempotent: boolean;
  log?: Logger;
  /** Called as each produce request leaves, with its event count (metrics). */
  onBatchSent?: (events: number) => void;
}

/** The publisher's settings from the API's configuration (shared/config.ts). */
export function publisherOptionsFrom(config: Config, log?: Logger): PublisherOptions {
  return {
    topic: config.KAFKA_TOPIC,
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    timeoutMs: config.PUBLISH_TIMEOUT_MS,
    lingerMs: config.PRODUCER_LINGER_MS,
    batchMaxEvents: config.PRODUCER_BATCH_MAX_EVENTS,
    batchMaxBytes: config.PRODUCER_BATCH_MAX_BYTES,
    maxQueuedEvents: config.PRODUCER_MAX_QUEUED_EVENTS,
    maxQueuedBytes: config.PRODUCER_MAX_QUEUED_BYTES,
    idempotent: config.KAFKA_PRODUCER_IDEMPOTENT,
    log,
  };
}

/** One event's place in the queue, and then in a produce request. */
interface Pending {
  message: Message;
  bytes: number;
  enqueuedAt: number;
  state: 'queued' | 'in-flight' | 'timed-out' | 'settled';
  resolve(ack: EventAck): void;
  reject(error: KafkaUnavailableError): void;
  timer?: NodeJS.Timeout;
}

/** Counters a test or /metrics can read. */
export interface PublisherStats {
  /** Produce requests sent, and the events they carried. */
  batches: number;
  events: number;
  /** Events answered 503 because they waited in the queue past their timeout: never sent. */
  expiredInQueue: number;
  /** Events answered 503 while their produce request was in flight, and then stored by it. */
  storedAfterTimeout: number;
  /** Events refused at once because the queue was full (PRODUCER_LINGER_MS=0: too many sends pending). */
  refusedQueueFull: number;
  /** Producers replaced after a failed send (idempotent only). */
  producerReplacements: number;
  /** Events sent again because kafkajs answered a send without their partition (see `produce`). */
  resentUnanswered: number;
}

/** A string's UTF-8 length, a Buffer's length (lab 05 publishes Avro bytes). */
const byteLength = (v: Buffer | string | null | undefined) => (v == null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);

const messageBytes = (m: Message) =>
  byteLength(m.value) + byteLength(m.key)
  + Object.entries(m.headers ?? {}).reduce((sum, [k, v]) => sum + k.length + Buffer.byteLength(String(v)), 0);

/**
 * Owns the one producer of an API process. Events that arrive within `lingerMs` of each other
 * share one produce request (up to `batchMaxEvents` / `batchMaxBytes`), and one request is in
 * flight at a time: the next batch fills while the broker answers. Each `publish` resolves only
 * once the broker acked *its* event (acks=all), and rejects with KafkaUnavailableError after
 * `timeoutMs`. One request in flight is also what keeps kafkajs 2.2.4's idempotent producer
 * safe; after a failed send the producer is replaced (new producer id), because kafkajs would
 * give the next batch the sequence numbers of the failed one.
 */
export class EventPublisher implements EventSink {
  private producer: Producer;
  private connected = false;
  /** Between a failed send and its replacement producer's connect: events queue (and may expire) meanwhile. */
  private reconnecting = false;
  private stopped = false;
  private consecutiveFailures = 0;
  private connectLoop?: Promise<void>;
  /** The partition kafkajs chose for each message of the batch in flight. */
  private readonly partitionOf = new WeakMap<Message, number>();
  private readonly queue: SendQueue<Pending>;
  private sending = false;
  private lingerTimer?: NodeJS.Timeout;
  private idleWaiters: (() => void)[] = [];
  /** PRODUCER_LINGER_MS=0: sends kafkajs has not settled yet, and their bytes. */
  private pendingAlone = 0;
  private pendingAloneBytes = 0;
  readonly stats: PublisherStats = { batches: 0, events: 0, expiredInQueue: 0, storedAfterTimeout: 0, refusedQueueFull: 0, producerReplacements: 0, resentUnanswered: 0 };

  constructor(
    private readonly kafka: Kafka,
    private readonly options: PublisherOptions,
  ) {
    if (options.lingerMs === 0 && options.idempotent) {
      throw new Error('PRODUCER_LINGER_MS=0 sends one produce request per event, concurrently, and kafkajs 2.2.4\'s idempotent '
        + 'producer can ack and then lose events under concurrent sends (labs/03-failure, scenario 5): set KAFKA_PRODUCER_IDEMPOTENT=false with it');
    }
    this.queue = new SendQueue({ maxEvents: options.maxQueuedEvents, maxBytes: options.maxQueuedBytes });
    this.producer = this.newProducer();
  }

  private newProducer(): Producer {
    return createEventProducer(this.kafka, {
      idempotent: this.options.idempotent,
      onPartitioned: (message, partition) => this.partitionOf.set(message, partition),
    });
  }

  private get topic() {
    return this.options.topic;
  }

  private get log() {
    return this.options.log;
  }

  /**
   * Creates the topic if missing and connects, in the background, retrying every 250 ms until Kafka
   * answers. Rejects with TopicSetupError when the topic can never be right (under-replicated).
   */
  start(): Promise<void> {
    this.connectLoop ??= (async () => {
      while (!this.stopped && !this.connected) {
        try {
          await ensureTopic(this.kafka, this.topic, this.options.partitions);
          await this.producer.connect();
          this.connected = true;
          this.reconnecting = false;
          this.log?.info({ topic: this.topic, idempotent: this.options.idempotent, lingerMs: this.options.lingerMs }, 'kafka producer connected');
          this.schedule();
        } catch (error) {
          // A topic that exists with less replication than configured does not heal by waiting.
          if (error instanceof TopicSetupError) throw error;
          this.log?.warn({ err: error }, 'kafka producer cannot connect yet; retrying');
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      this.connectLoop = undefined;
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
  publish(event: EnrichedEvent, headers: Record<string, string> = {}, value?: Buffer): Promise<EventAck> {
    if (!this.connected && !this.reconnecting) return Promise.reject(new KafkaUnavailableError('Kafka producer is not connected', 'not-sent'));
    const message: Message = { key: event.user_id, value: value ?? JSON.stringify(event), headers: { ...headers, event_id: event.event_id } };
    if (this.options.lingerMs === 0) return this.sendAlone(message);
    return new Promise<EventAck>((resolve, reject) => {
      const pending: Pending = { message, bytes: messageBytes(message), enqueuedAt: performance.now(), state: 'queued', resolve, reject };
      if (!this.queue.offer(pending)) {
        this.stats.refusedQueueFull++;
        reject(new KafkaUnavailableError(`the producer's queue is full (${this.queue.size} events, ${this.queue.bytes} bytes waiting for Kafka)`, 'not-sent'));
        return;
      }
      pending.timer = setTimeout(() => this.expire(pending), this.options.timeoutMs);
      this.schedule();
    });
  }

  /** Sends now if a batch is due (full, lingered long enough, or stopping); else sets the linger timer. */
  private schedule(): void {
    if (this.sending || !this.connected || this.queue.size === 0) return;
    const waited = this.queue.oldestWait(performance.now()) ?? 0;
    const batch = { maxEvents: this.options.batchMaxEvents, maxBytes: this.options.batchMaxBytes };
    if (this.stopped || waited >= this.options.lingerMs || this.queue.fills(batch)) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      void this.sendBatch(this.queue.takeBatch(batch));
    } else {
      this.lingerTimer ??= setTimeout(() => {
        this.lingerTimer = undefined;
        this.schedule();
      }, Math.max(1, this.options.lingerMs - waited));
    }
  }

  private async sendBatch(batch: Pending[]): Promise<void> {
    this.sending = true;
    for (const p of batch) p.state = 'in-flight';
    this.stats.batches++;
    this.stats.events += batch.length;
    this.options.onBatchSent?.(batch.length);
    try {
      const acks = await this.produce(batch.map((p) => p.message));
      this.consecutiveFailures = 0;
      for (const p of batch) {
        const ack = acks.get(p.message)!;
        if (p.state === 'timed-out') {
          this.stats.storedAfterTimeout++;
          this.log?.warn({ event_id: p.message.headers?.event_id, ...ack }, 'stored after its request was answered 503');
        }
        this.settle(p, () => p.resolve(ack));
      }
    } catch (error) {
      this.consecutiveFailures++;
      const failure = new KafkaUnavailableError(`Kafka rejected the write: ${(error as Error).message}`, 'unknown', { cause: error });
      for (const p of batch) this.settle(p, () => p.reject(failure));
      if (this.options.idempotent) this.replaceProducer();
    } finally {
      this.sending = false;
      this.schedule();
      this.wakeIfIdle();
    }
  }

  /**
   * Sends one batch and returns each message's place. kafkajs 2.2.4 can resolve a send without
   * having written every partition: when a partition's leader moves during the send to a broker
   * that already answered for other partitions, its retry skips that broker (sendMessages.js
   * keeps the answered brokers' responses) and the send resolves without that partition. So a
   * partition missing from the answer is sent again — with the same sequence numbers, which
   * kafkajs rolled back, so an idempotent producer cannot store it twice — up to 5 times.
   */
  private async produce(messages: Message[]): Promise<Map<Message, EventAck>> {
    const acks = new Map<Message, EventAck>();
    let unanswered = messages;
    for (let send = 1; unanswered.length > 0; send++) {
      if (send > 5) throw new Error(`no answer for ${unanswered.length} event(s) after 5 sends`);
      if (send > 1) {
        this.stats.resentUnanswered += unanswered.length;
        this.log?.warn({ events: unanswered.length, send }, 'kafkajs answered without some partitions; sending them again');
      }
      const results = await this.producer.send({ topic: this.topic, acks: -1, timeout: this.options.timeoutMs, messages: unanswered });
      // kafkajs keeps each partition's messages in batch order: the n-th one is at baseOffset + n.
      const baseOffset = new Map(results.map((r) => [r.partition, Number(r.baseOffset)]));
      const nth = new Map<number, number>();
      const missing: Message[] = [];
      for (const message of unanswered) {
        const partition = this.partitionOf.get(message)!;
        const base = baseOffset.get(partition);
        if (base === undefined) {
          missing.push(message);
          continue;
        }
        const n = nth.get(partition) ?? 0;
        nth.set(partition, n + 1);
        acks.set(message, { partition, offset: base + n });
      }
      unanswered = missing;
    }
    return acks;
  }

  /** A send failed after kafkajs' retries: its sequence numbers are unsafe to reuse, so start a new producer id. */
  private replaceProducer(): void {
    this.stats.producerReplacements++;
    const old = this.producer;
    this.connected = false;
    this.reconnecting = !this.stopped;
    this.producer = this.newProducer();
    void old.disconnect().catch(() => undefined);
    void this.start();
  }

  /** The event's time is up: a queued event is dropped (never sent); one in flight is answered and may still land. */
  private expire(p: Pending): void {
    const waited = `Kafka did not ack within ${this.options.timeoutMs} ms`;
    this.consecutiveFailures++; // not ready until a write is acked again, or the metadata probe succeeds
    if (p.state === 'queued' && this.queue.remove(p)) {
      this.stats.expiredInQueue++;
      p.state = 'settled';
      p.reject(new KafkaUnavailableError(`${waited}; the event was never sent and will not be stored`, 'not-sent'));
      this.wakeIfIdle();
    } else if (p.state === 'in-flight') {
      p.state = 'timed-out';
      p.reject(new KafkaUnavailableError(`${waited}; its produce request is still in flight and may yet store it`, 'unknown'));
    }
  }

  private settle(p: Pending, answer: () => void): void {
    clearTimeout(p.timer);
    if (p.state === 'in-flight') answer();
    p.state = 'settled';
  }

  /**
   * The first design: one produce request per event, sent at once (kafkajs queues them per broker,
   * one in flight). A send outlives its 503 until kafkajs settles it, so the sends not settled yet
   * are capped like the batching queue: beyond the cap an event is refused without being sent.
   */
  private async sendAlone(message: Message): Promise<EventAck> {
    const bytes = messageBytes(message);
    if (this.pendingAlone >= this.options.maxQueuedEvents || this.pendingAloneBytes + bytes > this.options.maxQueuedBytes) {
      this.stats.refusedQueueFull++;
      throw new KafkaUnavailableError(`too many sends pending in the producer (${this.pendingAlone} events, ${this.pendingAloneBytes} bytes not yet settled by Kafka)`, 'not-sent');
    }
    this.pendingAlone++;
    this.pendingAloneBytes += bytes;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new KafkaUnavailableError(`Kafka did not ack within ${this.options.timeoutMs} ms; it may still store the event`, 'unknown'));
      }, this.options.timeoutMs);
    });
    this.stats.batches++;
    this.stats.events++;
    const send = this.producer.send({ topic: this.topic, acks: -1, messages: [message] });
    // Counted until kafkajs settles the send, whoever answered the request; a send that loses the race must not become an unhandled rejection.
    void send.then(
      ([metadata]) => {
        if (!timedOut) return;
        this.stats.storedAfterTimeout++;
        this.log?.warn({ event_id: message.headers?.event_id, partition: metadata?.partition, offset: metadata?.baseOffset }, 'stored after its request was answered 503');
      },
      () => undefined,
    ).finally(() => {
      this.pendingAlone--;
      this.pendingAloneBytes -= bytes;
      this.wakeIfIdle();
    });
    try {
      const [metadata] = await Promise.race([send, timeout]);
      this.consecutiveFailures = 0;
      return { partition: metadata!.partition, offset: Number(metadata!.baseOffset) };
    } catch (error) {
      this.consecutiveFailures++;
      if (error instanceof KafkaUnavailableError) throw error;
      throw new KafkaUnavailableError(`Kafka rejected the write: ${(error as Error).message}`, 'unknown', { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  private get busy(): boolean {
    return this.sending || this.queue.size > 0 || this.pendingAlone > 0;
  }

  private wakeIfIdle(): void {
    if (!this.busy) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Resolves once nothing is queued or in flight (PRODUCER_LINGER_MS=0: every send settled by kafkajs). */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Sends what is queued (without lingering), waits for the answer, then disconnects. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.schedule();
    await this.idle();
    await this.connectLoop;
    await this.producer.disconnect();
    this.connected = false;
  }
}
