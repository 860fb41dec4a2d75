/**
 * What lab 07's edge costs, through nginx, in one run (`npx tsx labs/07-security/bench/edge-cost.ts`;
 * RATE=200 DURATION_S=5 ROUNDS=3 to change the load). Every phase sends POST /track at the same fixed
 * rate (open loop, shared/paced-load.ts) and reports the rate achieved and p50/p99
 * latency, each the median over ROUNDS rounds that run the phases in turn (so a noisy neighbour
 * on a shared machine spreads over all phases rather than landing on one):
 *
 *   transport  plain HTTP or HTTPS at nginx; a new connection per request (full TLS handshake, no
 *              session resumption) or keep-alive connections
 *   checks     off: lab 01's replica; on: lab 07's (peer allow-list, write key read from SQLite on
 *              every request, per-customer limit counted in Redis)
 *
 * One replica per mode (the rate is modest; the point is the difference), a broker and Redis of its
 * own on free ports. Also the write-key lookup alone, in this process. Prints a table and `SUMMARY {json}`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startApiReplica, type ApiReplica } from '../../../infra/api.js';
import { startKafka } from '../../../infra/kafka.js';
import { startNginx, type NginxServer } from '../../../infra/nginx.js';
import { startRedis } from '../../../infra/redis.js';
import { ensureServerCert } from '../../../infra/tls.js';
import { EDGE_PROXY_ADDRESS } from '../../../shared/config.js';
import { createKafka, ensureTopic } from '../../../shared/kafka.js';
import { pacedLoad } from '../../../shared/paced-load.js';
import { figure, int, latencyOf, ms } from '../../../bench/stats.js';
import { WriteKeyStore } from '../src/write-keys.js';

const RATE = Number(process.env.RATE ?? 200);
const DURATION_S = Number(process.env.DURATION_S ?? 5);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const body = (i: number) => JSON.stringify({ user_id: `user_${i % 500}`, event_type: 'page_view', properties: { page: `/pricing/${i % 7}` } });

/** µs per write-key lookup (SHA-256 + indexed SELECT, no cache) in a store of `keys` keys. */
function lookupUs(dir: string, keys = 10_000, lookups = 20_000): number {
  const store = new WriteKeyStore(join(dir, 'lookup.db'));
  const made = Array.from({ length: keys }, (_, i) => store.create(`customer_${i}`).writeKey);
  const start = process.hrtime.bigint();
  for (let i = 0; i < lookups; i++) store.customerOf(made[i % keys]!);
  const us = Number(process.hrtime.bigint() - start) / 1_000 / lookups;
  store.close();
  return us;
}

export async function measureEdgeCost(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'crm-edge-bench-'));
  const kafka = await startKafka();
  const redis = await startRedis({ logDir: dir });
  const stopping: { process: { stop(): Promise<void> } }[] = [redis];
  try {
    const topic = 'bench-edge';
    await ensureTopic(createKafka(kafka.brokers, 'bench-edge-admin'), topic, 2);
    const keys = new WriteKeyStore(join(dir, 'write-keys.db'));
    const { writeKey } = keys.create('bench-customer');
    const cert = ensureServerCert(join(dir, 'tls'), 'nginx');
    const ca = readFileSync(cert.caFile);
    const common = { KAFKA_TOPIC: topic, RATE_LIMIT_MAX: '1000000000' };
    const replicas: Record<'off' | 'on', ApiReplica> = {
      off: await startApiReplica({ id: 'bench-plain', brokers: kafka.brokers, logDir: dir, env: common }),
      on: await startApiReplica({ id: 'bench-secure', brokers: kafka.brokers, logDir: dir, entry: 'labs/07-security/src/server.ts',
        env: { ...common, WRITE_KEYS_DB: join(dir, 'write-keys.db'), REDIS_URL: redis.url, API_ALLOWED_PEERS: EDGE_PROXY_ADDRESS,
          CUSTOMER_RATE_LIMIT_MAX: '1000000000' } }),
    };
    stopping.push(...Object.values(replicas));
    // nginx's per-IP limit out of the way: this measures cost, not limits.
    const edge = async (checks: 'off' | 'on', tls: boolean): Promise<NginxServer> => {
      const n = await startNginx({ upstreams: [`127.0.0.1:${replicas[checks].port}`], rate: 1_000_000, burst: 1_000_000, ...(tls ? { tls: cert } : {}) });
      stopping.push(n);
      return n;
    };
    const edges = { 'http/off': await edge('off', false), 'https/off': await edge('off', true), 'http/on': await edge('on', false), 'https/on': await edge('on', true) };

    const phases = (['off', 'on'] as const).flatMap((checks) => (['http', 'https'] as const).flatMap((transport) =>
      [false, true].map((keepAlive) => ({ checks, transport, keepAlive, name: `${transport}_${keepAlive ? 'keepalive' : 'newconn'}_checks_${checks}` }))));
    const runs = new Map<string, { rps: number; p50: number; p99: number; statuses: Record<string, number> }[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const phase of phases) {
        const load = (durationS: number) => pacedLoad({ url: edges[`${phase.transport}/${phase.checks}`].url, path: '/track', rate: RATE, durationS,
          connections: 64, body, ca, keepAlive: phase.keepAlive, headers: phase.checks === 'on' ? { authorization: `Bearer ${writeKey}` } : {} });
        await load(1); // warm-up: connections, JIT, the replica's first produce requests
        const result = await load(DURATION_S);
        const latency = latencyOf(result.latencies);
        runs.set(phase.name, [...(runs.get(phase.name) ?? []), { rps: result.ok / result.elapsedS, p50: latency.p50, p99: latency.p99, statuses: result.statuses }]);
      }
    }

    const figures: Record<string, number> = {};
    console.log(`POST /track through nginx at ${RATE} req/s, ${DURATION_S} s per phase, median of ${ROUNDS} rounds (1 replica per mode)`);
    console.log('phase                          achieved req/s   p50 ms   p99 ms   answers (all rounds)');
    for (const { name } of phases) {
      const r = runs.get(name)!;
      const statuses: Record<string, number> = {};
      for (const run of r) for (const [code, n] of Object.entries(run.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
      figures[`${name}_rps`] = median(r.map((x) => x.rps));
      figures[`${name}_p50_ms`] = median(r.map((x) => x.p50));
      figures[`${name}_p99_ms`] = median(r.map((x) => x.p99));
      console.log(`${name.padEnd(31)}${int(figures[`${name}_rps`]!).padStart(14)}   ${ms(figures[`${name}_p50_ms`]!).padStart(6)}   ${ms(figures[`${name}_p99_ms`]!).padStart(6)}   ${JSON.stringify(statuses)}`);
    }
    figures.write_key_lookup_us = lookupUs(dir);
    console.log(`write-key lookup (SHA-256 + SQLite SELECT, 10,000 keys, no cache): ${figures.write_key_lookup_us.toFixed(1)} µs`);
    keys.close();
    return figures;
  } finally {
    for (const p of stopping.reverse()) await p.process.stop();
    await kafka.process.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const figures = await measureEdgeCost();
  console.log(`SUMMARY ${JSON.stringify(Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, figure(v)])))}`);
}
