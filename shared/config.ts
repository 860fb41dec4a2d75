import { z } from 'zod';

/** The loopback address nginx connects to the API replicas from (its `proxy_bind`). */
export const EDGE_PROXY_ADDRESS = '127.0.0.254';

const int = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);

/** Every setting comes from the environment; these are the defaults the labs describe. */
const ConfigSchema = z.object({
  KAFKA_BROKERS: z.string().default('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: z.string().default('crm-event-lab'),
  KAFKA_TOPIC: z.string().default('crm-events'),
  KAFKA_DLQ_TOPIC: z.string().default('crm-events-dlq'),
  /** Where failed events wait for their next attempt (lab 04). */
  KAFKA_RETRY_TOPIC: z.string().default('crm-events-retry'),
  KAFKA_TOPIC_PARTITIONS: int(2),
  /**
   * Copies of each partition the lab's topics are created with: 1 on the local single broker, 3 on
   * a real cluster (with acks=all and one replica, an acked event has exactly one copy).
   * Checked against existing topics: fewer replicas than this is refused at start.
   */
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).default(1),
  /** The topics' min.insync.replicas: copies an acks=all write needs before it is acked (2 of 3 on a cluster). */
  KAFKA_MIN_INSYNC_REPLICAS: z.coerce.number().int().min(1).default(1),
  CONSUMER_GROUP: z.string().default('crm-event-processors'),
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: int(3000),
  /** Shown in the `x-api-instance` header so round-robin is visible. */
  API_INSTANCE_ID: z.string().default('api-1'),
  /** App-level limit per client IP: RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW_MS. */
  RATE_LIMIT_MAX: int(100),
  RATE_LIMIT_WINDOW_MS: int(60_000),
  /** Largest /track body, after gzip decompression. */
  BODY_LIMIT_BYTES: int(16 * 1024),
  /** POST /batch: at most this many events, in at most this many bytes (after gzip decompression). */
  BATCH_MAX_EVENTS: int(500),
  BATCH_BODY_LIMIT_BYTES: int(512 * 1024),
  /** App-level limit of /batch per client IP, in events (a batch of n costs n) per RATE_LIMIT_WINDOW_MS. */
  BATCH_RATE_LIMIT_EVENTS: int(5_000),
  /** How long /track waits for the broker's ack before answering 503. */
  PUBLISH_TIMEOUT_MS: int(5_000),
  /**
   * How long the API's publisher waits for more events before it sends a produce request (the
   * Java client's linger.ms). 0 = one produce request per event, sent at once and concurrently
   * (the lab's first design, kept for comparison; it needs KAFKA_PRODUCER_IDEMPOTENT=false).
   */
  PRODUCER_LINGER_MS: int(2),
  /** A produce request carries at most this many events (the Java client's batch.size counts bytes; this counts both). */
  PRODUCER_BATCH_MAX_EVENTS: int(500),
  PRODUCER_BATCH_MAX_BYTES: int(512 * 1024),
  /** Events waiting for the next produce request, at most; beyond it /track answers 503 at once. */
  PRODUCER_MAX_QUEUED_EVENTS: int(10_000),
  PRODUCER_MAX_QUEUED_BYTES: int(16 * 1024 * 1024),
  /**
   * Load shedding (labs/01-ingest/src/load-shed.ts): a replica answers /track and /batch 503
   * `overloaded` at once when this many of them are in flight, or when the request waited this
   * many ms since nginx forwarded it (X-Request-Start); 0 turns either off. The wait limit sits above
   * nginx's proxy_connect_timeout (2 s): a request nginx re-sends after a connect that timed out (a
   * killed container's address drops packets instead of refusing) keeps its first stamp, and must not
   * be shed for the time nginx spent.
   */
  LOAD_SHED_MAX_IN_FLIGHT: int(128),
  LOAD_SHED_MAX_WAIT_MS: int(3_000),
  /** The API's listen backlog: connections the kernel completes and queues before the replica accepts them (capped by net.core.somaxconn). */
  API_LISTEN_BACKLOG: int(4096),
  /** The API's producer is idempotent (safe with batching: one produce request in flight). */
  KAFKA_PRODUCER_IDEMPOTENT: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /**
   * The proxy whose X-Forwarded-For and X-Request-Id are believed: nginx's own address, which it
   * connects to the replicas from (`proxy_bind` in infra/nginx/nginx.conf.template). Not 127.0.0.1,
   * so a local client (curl) is not mistaken for the proxy.
   */
  TRUST_PROXY: z.string().default(EDGE_PROXY_ADDRESS),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}).superRefine((c, ctx) => {
  if (c.KAFKA_MIN_INSYNC_REPLICAS > c.KAFKA_REPLICATION_FACTOR) {
    ctx.addIssue({ code: 'custom', path: ['KAFKA_MIN_INSYNC_REPLICAS'],
      message: `must not exceed KAFKA_REPLICATION_FACTOR=${c.KAFKA_REPLICATION_FACTOR} (no acks=all write could ever succeed)` });
  }
});

export type Config = z.infer<typeof ConfigSchema> & { kafkaBrokers: string[] };

/** ` (=value)` when the variable was set, so the message shows what was wrong. */
const problemValue = (env: NodeJS.ProcessEnv, path: PropertyKey[]) => {
  const value = env[String(path[0])];
  return value === undefined ? '' : ` (=${value})`;
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}${problemValue(env, i.path)}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return { ...parsed.data, kafkaBrokers: parsed.data.KAFKA_BROKERS.split(',').map((b) => b.trim()).filter(Boolean) };
}

/** How the lab's topics are replicated (`ensureTopic`, infra/kafka-cluster.ts). */
export interface TopicReplication {
  replicationFactor: number;
  minInsyncReplicas: number;
}

export const topicReplicationOf = (config: Config): TopicReplication => ({
  replicationFactor: config.KAFKA_REPLICATION_FACTOR,
  minInsyncReplicas: config.KAFKA_MIN_INSYNC_REPLICAS,
});

/** The group of lab 04's retry lane. */
export const retryGroupOf = (consumerGroup: string) => `${consumerGroup}-retry`;

/** The group whose committed offset marks how far the DLQ has been replayed (lab 04). */
export const dlqReplayGroupOf = (consumerGroup: string) => `${consumerGroup}-dlq-replay`;
