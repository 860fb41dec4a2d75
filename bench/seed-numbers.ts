/**
 * The seed's throughput claims, measured with the real software's own tools on this machine:
 * `npm run bench:seed-numbers`. Three phases, each on a process of its own on free ports:
 *   1. Kafka: Kafka's own `ProducerPerformance` (kafka-producer-perf-test) from the cached 3.9.2
 *      jars, 240-byte records, acks=all, on a fresh single broker (the seed claimed "1M+ msgs/s");
 *   2. Redis: Debian's `redis-benchmark` against a private redis-server (the seed compared Redis);
 *   3. nginx alone: `GET /nginx-health` (answered by nginx itself) at vegeta's maximum, 50 in flight
 *      (the seed claimed "10K+ RPS").
 * Each phase prints the load average before and after it: the figures are only as good as the
 * machine was quiet. Last line: `SUMMARY {json}`. Figures are printed, never asserted.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafka } from '../infra/kafka.js';
import { startNginx } from '../infra/nginx.js';
import { kafkaLibs, repoRoot } from '../infra/paths.js';
import { startRedis } from '../infra/redis.js';
import { createKafka, ensureTopic } from '../shared/kafka.js';
import { envNumber } from './env.js';
import { vegetaBin } from './vegeta/attack.js';

process.env.KAFKAJS_LOG_LEVEL ??= 'nothing';

const KAFKA_RECORDS = Math.round(envNumber('SEED_KAFKA_RECORDS', 1_000_000));
const REDIS_REQUESTS = Math.round(envNumber('SEED_REDIS_REQUESTS', 200_000));
const NGINX_S = envNumber('SEED_NGINX_S', 10);
const RECORD_BYTES = 240; // the API's enriched event, as bench/clients uses

const load = () => loadavg().map((v) => v.toFixed(2)).join(' ');
const summary: Record<string, number | string | null> = {};

/** Runs one phase between two load-average readings; a failed phase is reported and the others go on. */
async function phase(name: string, run: () => Promise<void>): Promise<void> {
  const before = load();
  console.log(`\n${name}  (load average before: ${before})`);
  try {
    await run();
  } catch (error) {
    console.log(`  FAILED: ${(error as Error).message}`);
  }
  console.log(`  load average after: ${load()}`);
  summary[`${name.split(':')[0]!.toLowerCase()}_load_before`] = before;
}

/** Kafka's ProducerPerformance; its last line: "N records sent, R records/sec (M MB/sec), A ms avg latency, …". */
async function kafkaPhase(dir: string): Promise<void> {
  const kafka = await startKafka({ dataDir: join(dir, 'kafka') });
  try {
    await ensureTopic(createKafka(kafka.brokers, 'seed-numbers-setup'), 'perf', 2);
    for (const [label, props] of [['acks=all, defaults', []], ['acks=all, linger.ms=10, batch.size=1 MiB', ['linger.ms=10', 'batch.size=1048576']]] as const) {
      const out = execFileSync('java', ['-Xmx512m', `-Dlog4j.configuration=file:${join(repoRoot, 'infra', 'tools-log4j.properties')}`, '-cp', `${kafkaLibs}/*`, 'org.apache.kafka.tools.ProducerPerformance',
        '--topic', 'perf', '--num-records', String(KAFKA_RECORDS), '--record-size', String(RECORD_BYTES), '--throughput', '-1',
        '--producer-props', `bootstrap.servers=${kafka.brokers[0]}`, 'acks=all', ...props], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const last = out.trim().split('\n').pop()!;
      const rate = Number(/([\d.]+) records\/sec/.exec(last)?.[1]);
      const p99 = Number(/([\d.]+) ms 99th/.exec(last)?.[1]);
      console.log(`  ${label}: ${last}`);
      const key = props.length ? 'kafka_perf_batched' : 'kafka_perf_default';
      summary[`${key}_records_per_s`] = Math.round(rate);
      summary[`${key}_p99_ms`] = p99;
    }
  } finally {
    await kafka.process.stop();
  }
}

/** redis-benchmark --csv: a header row, then one row per test (rps, then latencies in ms). */
async function redisPhase(dir: string): Promise<void> {
  const redis = await startRedis({ logDir: join(dir, 'redis') });
  try {
    const runs: [string, string[]][] = [
      ['SET, 50 clients', ['-t', 'set']],
      ['LPUSH (a list as a queue), 50 clients', ['-t', 'lpush']],
      ['XADD (a stream), 50 clients', ['XADD', 'seed-stream', '*', 'f', 'v']],
      ['LPUSH, 50 clients, pipeline 16', ['-t', 'lpush', '-P', '16']],
    ];
    for (const [label, args] of runs) {
      const csv = execFileSync('redis-benchmark', ['-p', String(redis.port), '-n', String(REDIS_REQUESTS), '-c', '50', '--csv', ...args], { encoding: 'utf8' });
      const rows = csv.trim().split('\n').map((l) => l.split('","').map((c) => c.replace(/"/g, '')));
      const header = rows[0]!;
      const row = rows[rows.length - 1]!;
      const at = (col: string) => Number(row[header.indexOf(col)]);
      console.log(`  ${label}: ${Math.round(at('rps')).toLocaleString('en-US')} req/s, p50 ${at('p50_latency_ms')} ms, p99 ${at('p99_latency_ms')} ms`);
      summary[`redis_${label.split(/[ ,]/)[0]!.toLowerCase()}${args.includes('-P') ? '_pipelined' : ''}_per_s`] = Math.round(at('rps'));
    }
  } finally {
    await redis.process.stop();
  }
}

/** vegeta against nginx's own /nginx-health; `vegeta report -type=json` gives latencies in ns. */
async function nginxPhase(dir: string): Promise<void> {
  const bin = vegetaBin();
  // No request reaches an upstream (/nginx-health is answered by nginx), so any address will do.
  const nginx = await startNginx({ upstreams: ['127.0.0.1:9'], prefix: join(dir, 'nginx') });
  try {
    const targets = join(dir, 'targets.txt');
    const results = join(dir, 'nginx.bin');
    writeFileSync(targets, `GET ${nginx.url}/nginx-health\n`);
    execFileSync(bin, ['attack', `-targets=${targets}`, '-rate=0', '-max-workers=50', `-duration=${NGINX_S}s`, '-http2=false', `-output=${results}`]);
    const report = JSON.parse(execFileSync(bin, ['report', '-type=json', results], { encoding: 'utf8' })) as {
      throughput: number; requests: number; status_codes: Record<string, number>; latencies: Record<string, number>;
    };
    const p = (k: string) => (report.latencies[k]! / 1e6).toFixed(2);
    console.log(`  GET /nginx-health, 50 in flight, ${NGINX_S} s: ${Math.round(report.throughput).toLocaleString('en-US')} req/s (200s), ` +
      `p50 ${p('50th')} ms, p99 ${p('99th')} ms; statuses ${JSON.stringify(report.status_codes)} of ${report.requests}`);
    summary.nginx_static_per_s = Math.round(report.throughput);
    summary.nginx_static_p99_ms = Number(p('99th'));
  } finally {
    await nginx.process.stop();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'crm-seed-numbers-'));
  console.log(`seed numbers: ${cpus().length} cores; load average at start ${load()} (a busy machine makes every figure lower)`);
  try {
    await phase('Kafka: ProducerPerformance, 240-byte records, 2 partitions, one broker', () => kafkaPhase(dir));
    await phase('Redis: redis-benchmark, private redis-server', () => redisPhase(dir));
    await phase('nginx: alone, vegeta at its maximum', () => nginxPhase(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  summary.load_after = load();
  console.log(`SUMMARY ${JSON.stringify(summary)}`);
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
