/**
 * The interview questions `npm run interview -- <id>` proves, as data: each id's question, its
 * answer in one line, and the tests (file and exact title) or benchmarks that show it.
 * docs/interview.md gives the long answers; tools/interview/questions.test.ts checks every title exists.
 */
/** Tests of one file, by their exact titles (the `it(…)` string, as vitest's -t sees it). */
export interface ProofTests {
  file: string;
  titles: string[];
}

/** A benchmark that measures part of the answer: printed, never run by the CLI (not run in CI either). */
export interface ProofBench {
  command: string;
  measures: string;
  figures: string;
}

export interface InterviewQuestion {
  id: string;
  question: string;
  answer: string;
  tests: ProofTests[];
  benches: ProofBench[];
}

const SPIKE_BENCH: ProofBench = {
  command: 'npm run bench:spike',
  measures: '100× spike at capacity: shares of 202/429/503, CPU per component, lag, which stage saturates first',
  figures: '2026-12-07: 89 % 429 from nginx, 5 % 429 from the API, 26 × 503 overloaded, 7 % accepted, lag ≤ 67, every 202 stored (docs/benchmarks.md#a-100-spike-npm-run-benchspike)',
};

export const QUESTIONS: InterviewQuestion[] = [
  {
    id: 'ack-crash',
    question: 'What if the API crashes after Kafka acked but before it replied?',
    answer: 'Nothing is lost: the event is already in Kafka. The client sees an error and retries with the same event_id; '
      + 'the second copy is a duplicate that the worker applies once (dedupe by event_id). A fresh event_id on the retry would count it twice.',
    tests: [
      { file: 'labs/01-ingest/test/ack-then-crash.test.ts', titles: [
        'a replica killed between Kafka\'s ack and its reply: the retry reuses the event_id, at most 2 copies in Kafka, applied once, none lost',
        'the same crash with a retry under a fresh event_id is applied twice',
      ] },
      { file: 'labs/01-ingest/test/track.test.ts', titles: ['keeps a client-supplied event_id, so a retried event can be recognised downstream'] },
      { file: 'labs/03-failure/test/api-crash.test.ts', titles: ['routes around the dead replica, loses no acked event, and takes the replica back after its restart'] },
    ],
    benches: [],
  },
  {
    id: 'spike',
    question: 'How do you handle a 100× traffic spike?',
    answer: 'The API does not accept everything: nginx answers 429 to the IPs over their limit, a replica past capacity answers '
      + '503 overloaded with Retry-After; Kafka buffers what was accepted and the lag drains. Workers scale only up to the partition count.',
    tests: [
      { file: 'labs/03-failure/test/traffic-spike.test.ts', titles: ['nginx rejects only the IPs over their limit, every 202 is stored and applied once, and the lag rises then drains to 0'] },
      { file: 'labs/03-failure/test/overload.test.ts', titles: ['sheds the excess with retryable JSON 503/429 and Retry-After, never a 502 or 504, keeps accepting ≥ 80 % of capacity, stores every 202, and serves normally right after'] },
      { file: 'labs/01-ingest/test/nginx.test.ts', titles: ['answers a burst of 80 requests from one IP with 429s for what exceeds rate 20/s + burst 50'] },
      { file: 'labs/02-consumer-groups/test/idle-consumers.test.ts', titles: ['ten workers on two partitions: eight get no partition'] },
    ],
    benches: [SPIKE_BENCH],
  },
  {
    id: 'no-loss',
    question: 'How do you make sure no events are lost?',
    answer: '202 only after acks=all; 503, never 202, when Kafka cannot ack; replication 3 with min ISR 2; offsets committed after the '
      + 'effect is durable; retries with one event_id; poison events dead-lettered. And a client bug lab 03 found: kafkajs\' idempotent '
      + 'producer acked events it dropped under concurrent sends — one send in flight now.',
    tests: [
      { file: 'labs/01-ingest/test/track.test.ts', titles: ['acks with 202 only once the event is in Kafka, enriched, on the partition of its user_id'] },
      { file: 'labs/01-ingest/test/kafka-down.test.ts', titles: ['answers 503 (never 202) while Kafka is stopped, and every 202 survives a broker restart'] },
      { file: 'infra/test/topic-refusal.test.ts', titles: ['stops an API replica at start, with topic_under_replicated in its log, instead of acking on one copy'] },
      { file: 'labs/03-failure/test/broker-failover.test.ts', titles: ['elects a new leader, loses no acked event, and the producer copies no event beyond its bound'] },
      { file: 'labs/01-ingest/test/publisher.test.ts', titles: ['refuses PRODUCER_LINGER_MS=0 with the idempotent producer, naming the setting that fixes it'] },
      { file: 'shared/retry.test.ts', titles: ['retries 503s and a dropped connection, re-sending the same event_id, until the 202'] },
      { file: 'labs/02-consumer-groups/test/profile-store.test.ts', titles: ['syncs every transaction to disk before it returns (synchronous=FULL), so a committed offset never outlives its effect'] },
      { file: 'labs/02-consumer-groups/test/crash.test.ts', titles: ['after a SIGKILL mid-batch, the survivor reprocesses the uncommitted events and skips them as duplicates: profiles stay exact'] },
      { file: 'labs/04-dlq/test/dlq.test.ts', titles: ['dead-letters one poison event among 1,000 after exactly N attempts with growing delays; the other 999 are processed in order'] },
    ],
    benches: [],
  },
  {
    id: 'multi-dc',
    question: 'How would you handle multi-datacenter?',
    answer: 'A cluster per region and MirrorMaker 2, yes — but replication is asynchronous (a failover loses the un-mirrored tail of '
      + 'acked events: the RPO, measured and alerted on), offsets must be translated from checkpoints, the promoted region re-reads '
      + '(idempotent by event_id), and copying PII to another region is a residency question.',
    tests: [
      { file: 'labs/08-multi-region/test/failover.test.ts', titles: [
        'region A dies mid-stream: what A acked is in B or counted as lost (its tail), B re-reads exactly what A applied past the translated offset (checkpoint staleness + sync granularity), and applies each event once',
        'planned switchover (drain, then fail over, A healthy): RPO 0, B re-reads at most offset.lag.max per partition, each refused by the dedupe',
      ] },
      { file: 'labs/08-multi-region/test/mirror-records.test.ts', titles: ['resumes each partition at the downstream offset of its newest checkpoint, never the upstream one; other groups and topics ignored'] },
      { file: 'labs/08-multi-region/test/alerts.test.ts', titles: ['MirrorReplicationLagHigh is valid and passes its promtool unit tests (1,000 records behind: none; 1,001 for 2 minutes: a warning)'] },
    ],
    benches: [],
  },
  {
    id: 'partitions',
    question: 'How many partitions, and what happens when you add some?',
    answer: 'Partitions cap consumer parallelism (a worker beyond them idles). Adding partitions moves keys, so one user\'s events '
      + 'split across partitions and lose their order; to grow safely, fill a new topic with more partitions after the old one drained.',
    tests: [
      { file: 'labs/02-consumer-groups/test/assignment.test.ts', titles: [
        'gives each of 2 workers one of the 2 partitions',
        'leaves a 3rd worker idle while there are only 2 partitions',
        'hands the new partition to the idle worker when partitions go from 2 to 3, and events for its keys reach it',
      ] },
      { file: 'labs/02-consumer-groups/test/partition-raise.test.ts', titles: [
        'raising partitions moves a user\'s key: their events split across partitions',
        'a new topic with more partitions, filled after the old one drained, keeps each user on one partition',
      ] },
      { file: 'labs/01-ingest/test/track.test.ts', titles: ['keeps one user\'s events in order on one partition'] },
    ],
    benches: [],
  },
  {
    id: 'numbers',
    question: 'The seed\'s numbers (API < 10 ms, nginx 10K+ RPS, Kafka 1M+ msgs/s, …): what does this repo measure?',
    answer: 'Each seed figure beside the figure measured here and the command that measured it (tools/interview/numbers.ts); benchmarks, not tests.',
    tests: [],
    benches: [],
  },
];

export function findQuestion(id: string): InterviewQuestion | undefined {
  return QUESTIONS.find((q) => q.id === id);
}
