/**
 * The seed's figures beside what this repo measured, for `npm run interview -- numbers` (the same
 * table, with its sources, is in docs/interview.md). `commands` are npm scripts; an empty list means
 * the figure is not measurable here, and `measured` says why.
 */
export interface SeedNumber {
  seed: string;
  measured: string;
  commands: string[];
}

const QUIET = 'nothing else running, 2026-12-07 06:52';

export const SEED_NUMBERS: SeedNumber[] = [
  {
    seed: 'API < 10 ms',
    measured: 'POST /track through nginx at 2,000 req/s, stripped stack: p50 4.6 ms, p99 21.4 ms (npm run bench, 2026-12-07 04:25, quiet); '
      + 'as `up` runs it: p50 30.1 / p99 282 ms with 3 replicas, 4.8 / 37.9 ms with 1 (npm run bench:budget, 04:18, quiet)',
    commands: ['bench', 'bench:budget'],
  },
  {
    seed: 'round trip T+6 ms',
    measured: 'one traced event: 202 at the client after 25.9 ms, 14.8 ms of it the Kafka ack (npm run trace, docs/observability.md); '
      + 'the bare acks=all round trip, one send at a time: p50 0.29 ms (npm run bench, phase 1)',
    commands: ['trace', 'bench'],
  },
  {
    seed: 'nginx 10K+ RPS',
    measured: `GET /nginx-health answered by nginx alone: 50,273 req/s (npm run bench, autocannon, 2026-12-07 04:25, quiet); `
      + `22,881 req/s with vegeta, p99 4.94 ms (npm run bench:seed-numbers, ${QUIET}); POST /track through nginx and the API: 5,415 req/s max (stripped), 2,621 (as up runs it)`,
    commands: ['bench', 'bench:seed-numbers', 'bench:budget'],
  },
  {
    seed: 'Kafka 1M+ msgs/s',
    measured: `one broker on 2 cores, acks=all, 240-byte records: Kafka's own ProducerPerformance 111,421 msgs/s (defaults) and 218,866 `
      + `(linger.ms=10, batch.size=1 MiB) (npm run bench:seed-numbers, ${QUIET}); kafkajs, 100 msgs a send: 76,784 (npm run bench, quiet). `
      + '1M+ needs a cluster of many cores and disks: not measurable on this machine',
    commands: ['bench:seed-numbers', 'bench'],
  },
  {
    seed: 'RabbitMQ comparison',
    measured: 'not measurable here: RabbitMQ is not installed (no rabbitmq-server on the machine), and this lab does not add it',
    commands: [],
  },
  {
    seed: 'Redis comparison',
    measured: `redis-benchmark, 50 clients: SET 65,898/s, LPUSH 65,147/s, XADD 61,369/s, LPUSH pipelined ×16 862,069/s, all in memory `
      + `without persistence (npm run bench:seed-numbers, ${QUIET})`,
    commands: ['bench:seed-numbers'],
  },
  {
    seed: 'direct-DB comparison',
    measured: 'SQLite, one durable transaction per event (synchronous=FULL): 537–609 events/s; 500 events per transaction: 13,009–37,151 '
      + '(npm run bench:dedupe, lab 02\'s README, machine busy); the seed\'s own DB figures are not known, and no server DB is installed',
    commands: ['bench:dedupe'],
  },
  {
    seed: 'personalisation < 100 ms',
    measured: 'sent → profile updated at 1,000 req/s: p99 117 ms and 86 ms in two quiet runs with 3 replicas, 45 ms with 2, 41 ms with 1 '
      + '(npm run bench:budget, 2026-12-07 04:18–04:54)',
    commands: ['bench:budget'],
  },
  {
    seed: 'exactly-once ~20 % latency overhead',
    measured: 'latency is the commit interval, not a percentage: p50 12 ms → 132 ms at a 100 ms commit, 575 ms at 1 s; '
      + 'throughput −6 to −16 % at 100 ms (quiet), −57 % loaded, none at 1 s (npm run bench:streams, 2026-11-26 09:25/09:29)',
    commands: ['bench:streams'],
  },
  {
    seed: 'scale at CPU > 80 %',
    measured: 'a policy, not a measurement: no autoscaler here. Measured: at 2,000 req/s the stack used 1.94 of 2 cores (97 %) with '
      + 'p99 282 ms and 316 of 39,998 shed (npm run bench:budget); lag is alerted at 10,000 (docs/alerts.yml)',
    commands: ['bench:budget'],
  },
  {
    seed: '100× spike: the API accepts all, 10 workers',
    measured: 'npm run bench:spike: 10 client IPs, 2 → 200 req/s each (2,000 in all) with up\'s limits: 89 % answered 429 by nginx, 5 % 429 by the API\'s per-IP window, 26 shed as 503 overloaded in the first second, 7 % accepted; lag peaked at 67; every 202 stored; normal traffic refused for 18 s after (the API\'s one-minute window); the 10× scenario: 120 r/s offered, '
      + '92/s accepted, 280 answered 429 by nginx, peak lag 443, drained 11.3 s after (lab 03, scenario 4, load average ~10)',
    commands: ['bench:spike'],
  },
];
