/**
 * The PromQL the Grafana board and the alert rules share: one function per quantity, over a range
 * window (`5m` in docs/alerts.yml, `$__rate_interval` on the board). The board is generated from
 * these (board.ts); test/grafana-board.test.ts fails when a rule in docs/alerts.yml or
 * labs/08-multi-region/alerts.yml no longer reads `alertRules[name]`, or the board lacks it.
 */

/** POST /track answered per second, by status (202, 400, 429, 503, …). */
export const requestsByStatus = (w: string) => `sum by (status) (rate(http_requests_total{route="/track"}[${w}]))`;

/** A quantile (0.5, 0.95, 0.99) of POST /track's latency over all replicas, in seconds. */
export const trackLatencyQuantile = (q: number, w: string) =>
  `histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket{route="/track"}[${w}])))`;

/** 429s (nginx's limit_req and the API's limiters) over every request that arrived, 0 without traffic. */
export const rateLimitedRatio = (w: string) => [
  '(',
  `  (sum(rate(rate_limited_total[${w}])) or vector(0))`,
  `  + (sum(rate(nginx_rate_limited_total[${w}])) or vector(0))`,
  ')',
  '/',
  '(',
  `  (sum(rate(http_requests_total{route="/track"}[${w}])) or vector(0))`,
  `  + (sum(rate(nginx_rate_limited_total[${w}])) or vector(0))`,
  ')',
].join('\n');

/** 503s per second by route. The API labels status, not the error code: the reasons are told apart by the next two. */
export const unavailableByRoute = (w: string) => `sum by (route) (rate(http_requests_total{status="503"}[${w}]))`;

/** Writes Kafka did not ack in time or rejected, per second (the 503 `kafka_unavailable`). */
export const produceFailures = (w: string) => `sum by (topic) (rate(kafka_produce_failures_total[${w}]))`;

/** Lag per partition; every worker reports every partition of its group, so the largest report counts. */
export const lagPerPartition = () => 'max by (group, topic, partition) (kafka_consumer_lag)';

/** The group's lag, each partition once. */
export const groupLag = () => `sum by (group, topic) (${lagPerPartition()})`;

/** The largest partition's lag over the mean partition's: 1 when even, the partition count when one holds it all. */
export const lagSkew = () => `max by (group, topic) (${lagPerPartition()}) / avg by (group, topic) (${lagPerPartition()})`;

/** Dead letters not replayed yet (each worker reports the same number). */
export const dlqDepth = () => 'max by (topic) (dlq_depth)';

/** Events waiting in lab 04's retry topic. */
export const retryTopicDepth = () => 'max by (topic) (retry_topic_depth)';

/** Mean events per produce request of the API's batching publisher. */
export const eventsPerProduceRequest = (w: string) =>
  `sum(rate(kafka_producer_batch_events_sum[${w}])) / sum(rate(kafka_producer_batch_events_count[${w}]))`;

/** p99 of events per produce request. */
export const eventsPerProduceRequestP99 = (w: string) =>
  `histogram_quantile(0.99, sum by (le) (rate(kafka_producer_batch_events_bucket[${w}])))`;

/** Lab 07: requests whose per-customer limit could not be checked in Redis, over the window, by outcome. */
export const limitStoreErrorsIncrease = (w: string) => `sum by (outcome) (increase(rate_limit_store_errors_total[${w}]))`;

/** Lab 08: records region A holds that region B does not, per topic. */
export const replicationLag = () => 'sum by (source, target, topic) (mirror_replication_lag_records)';

export interface AlertRule {
  /** Which rule file holds it, from the repository root. */
  file: 'docs/alerts.yml' | 'labs/08-multi-region/alerts.yml';
  /** The measured quantity over a window (the board plots it with `$__rate_interval`). */
  measure: (w: string) => string;
  /** The window the rule uses. */
  window: string;
  threshold: number;
  /** A second condition joined with `and` (e.g. the skew alert's minimum lag). */
  and?: { measure: () => string; threshold: number };
}

/** Every alert rule, by name: its `expr` is `measure(window) > threshold [and …]`. */
export const alertRules: Record<string, AlertRule> = {
  ConsumerLagCritical: { file: 'docs/alerts.yml', measure: groupLag, window: '5m', threshold: 10_000 },
  ApiLatencyP95High: { file: 'docs/alerts.yml', measure: (w) => trackLatencyQuantile(0.95, w), window: '5m', threshold: 0.1 },
  RateLimitRejectionsHigh: { file: 'docs/alerts.yml', measure: rateLimitedRatio, window: '5m', threshold: 0.01 },
  CustomerLimitStoreFailing: { file: 'docs/alerts.yml', measure: limitStoreErrorsIncrease, window: '1m', threshold: 0 },
  RetryTopicDepthHigh: { file: 'docs/alerts.yml', measure: retryTopicDepth, window: '5m', threshold: 100 },
  ConsumerLagPartitionSkew: { file: 'docs/alerts.yml', measure: lagSkew, window: '5m', threshold: 1.5, and: { measure: groupLag, threshold: 1_000 } },
  MirrorReplicationLagHigh: { file: 'labs/08-multi-region/alerts.yml', measure: replicationLag, window: '5m', threshold: 1_000 },
};

/** A rule's expression as its rule file must hold it. */
export function alertExpr(rule: AlertRule): string {
  const main = `${rule.measure(rule.window)} > ${rule.threshold}`;
  return rule.and ? `${main}\nand\n${rule.and.measure()} > ${rule.and.threshold}` : main;
}
