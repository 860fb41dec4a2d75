/**
 * `npm run region -- <command>`: the operator's side of lab 08, on two running regions.
 *
 *   status          replication lag per partition (A's end vs what B holds) and the group's newest checkpoints
 *   failover B      commits the group's offsets on B translated from B's checkpoints topic; stop A's
 *                   consumers first (refused while the group has members on B), then start workers
 *                   on B with KAFKA_TOPIC=A.crm-events and point the API at B (KAFKA_BROKERS)
 *   metrics [port]  serves mirror_replication_lag_records on /metrics (default port 9464)
 *
 * REGION_A_BROKERS and REGION_B_BROKERS name the clusters; KAFKA_TOPIC and CONSUMER_GROUP as everywhere.
 * Errors are printed as {"error", "message"} with exit code 1.
 */
import { createServer } from 'node:http';
import { loadConfig } from '../../../shared/config.js';
import { createRegistry } from '../../../shared/metrics.js';
import { promote } from './failover.js';
import { latestCheckpoints, readCheckpoints } from './offset-translation.js';
import { replicationLag, replicationLagGauge } from './replication-lag.js';

const config = loadConfig();
const brokersOf = (name: string) => {
  const value = process.env[name];
  if (!value) fail('missing_setting', `${name} is not set (a comma-separated list of host:port)`);
  return value!.split(',');
};
function fail(error: string, message: string): never {
  console.error(JSON.stringify({ error, message }));
  process.exit(1);
}

const [command, arg] = process.argv.slice(2);
const topic = config.KAFKA_TOPIC;
const mirroredTopic = `A.${topic}`;
const checkpointsTopic = 'A.checkpoints.internal';
const sources = () => ({ sourceBrokers: brokersOf('REGION_A_BROKERS'), targetBrokers: brokersOf('REGION_B_BROKERS'), topic, mirroredTopic,
  offsetSyncsTopic: 'mm2-offset-syncs.B.internal' });

try {
  if (command === 'status') {
    for (const p of await replicationLag(sources())) {
      console.log(`${topic}[${p.partition}] A end=${p.sourceEnd} B end=${p.targetEnd} shift=${p.shift ?? '-'} lag=${p.lag}`);
    }
    for (const [p, c] of latestCheckpoints(await readCheckpoints(brokersOf('REGION_B_BROKERS'), checkpointsTopic), config.CONSUMER_GROUP, mirroredTopic)) {
      console.log(`checkpoint ${c.group} ${c.topic}[${p}] upstream=${c.upstreamOffset} downstream=${c.downstreamOffset}`);
    }
  } else if (command === 'failover' && arg === 'B') {
    const promotion = await promote({ brokers: brokersOf('REGION_B_BROKERS'), group: config.CONSUMER_GROUP, mirroredTopic, checkpointsTopic });
    for (const [p, offset] of promotion.resumedAt) {
      const c = promotion.checkpoints.get(p);
      console.log(`${mirroredTopic}[${p}] resumes at ${offset}` + (c ? ` (checkpoint: upstream ${c.upstreamOffset} → downstream ${c.downstreamOffset})` : ' (no checkpoint: earliest)'));
    }
    console.log(`now: workers on B with KAFKA_BROKERS=${process.env.REGION_B_BROKERS} KAFKA_TOPIC=${mirroredTopic}; the API with KAFKA_BROKERS=${process.env.REGION_B_BROKERS}`);
  } else if (command === 'metrics') {
    const registry = createRegistry();
    replicationLagGauge(registry, { ...sources(), source: 'A', target: 'B' });
    const port = Number(arg ?? 9464);
    createServer(async (_req, res) => {
      try {
        res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
      } catch (error) {
        res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'source_unreachable', message: String(error) }));
      }
    }).listen(port, '127.0.0.1', () => console.log(`mirror_replication_lag_records on http://127.0.0.1:${port}/metrics`));
  } else {
    fail('unknown_command', 'use: status | failover B | metrics [port]');
  }
} catch (error) {
  fail((error as { error?: string }).error ?? 'region_command_failed', (error as Error).message);
}
