/**
 * Brings the whole system up as local processes and leaves it running:
 * Kafka (KRaft) → Toxiproxy in front of it → lab 05's schema registry → 3 API replicas → workers → nginx. Idempotent: a component that
 * the last `up` started and that still listens on its port is left as it is; a port held by any
 * other process is refused. `npm run down` stops what this started.
 *
 * `--avro` (`npm run up -- --avro`): the replicas are lab 05's (Avro through the registry, schema v2)
 * and the workers lab 05's (lab 04's lanes reading with reader schema v2, JSON too); everything else
 * is the same. infra never imports a lab: it starts lab 05's programs by path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApiReplica } from './api.js';
import { startKafka } from './kafka.js';
import { startNginx } from './nginx.js';
import { registerLabSchemas, startRegistry } from './registry.js';
import { failIfExited, waitFor } from './processes.js';
import { isOurs, readPids, runDir, stackPorts, writePid } from './stack.js';
import { claimStackMode, ensure, ensureKafkaProxy, ensureWorker, refuse, type StackMode } from './stack-ensure.js';
import { startWorker } from './worker.js';
import { loadConfig, topicReplicationOf } from '../shared/config.js';
import { createKafka, ensureTopic, TopicSetupError } from '../shared/kafka.js';

const options = process.argv.slice(2);
const unknown = options.filter((o) => o !== '--avro');
if (unknown.length > 0) refuse('unknown_option', `${unknown.join(' ')}: up takes --avro (lab 05's Avro replicas and workers), or --secure through npm run up`);
const mode: StackMode = options.includes('--avro') ? 'avro' : 'plain';
const ports = stackPorts();
const config = loadConfig();
const logDir = join(runDir, 'logs');

claimStackMode(mode);
console.log(`Starting crm-event-lab${mode === 'avro' ? ' (Avro: lab 05\'s replicas and workers)' : ''}:`);
await ensure('kafka', ports.kafka, async () =>
  (await startKafka({
    dataDir: join(runDir, 'kafka'),
    brokerPort: ports.kafka,
    controllerPort: ports.kafkaController,
    proxiedListenerPort: ports.kafkaProxiedListener,
    proxiedAdvertisedPort: ports.kafkaViaToxiproxy,
    keepAfterExit: true,
  })).process);

const directBrokers = [`127.0.0.1:${ports.kafka}`];
const kafka = createKafka(directBrokers, 'crm-lab-up');
// With the configured replication (KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS); a topic that
// has fewer replicas, or a replication the broker cannot give, stops `up` here with the reason.
const replication = topicReplicationOf(config);
try {
  await ensureTopic(kafka, config.KAFKA_TOPIC, config.KAFKA_TOPIC_PARTITIONS, replication);
  await ensureTopic(kafka, config.KAFKA_RETRY_TOPIC, 1, replication);
  await ensureTopic(kafka, config.KAFKA_DLQ_TOPIC, 1, replication);
} catch (error) {
  if (!(error instanceof TopicSetupError)) throw error;
  console.error(JSON.stringify(error));
  process.exit(1);
}

await ensureKafkaProxy({ port: ports.toxiproxy, listenPort: ports.kafkaViaToxiproxy, upstreamPort: ports.kafkaProxiedListener, logDir });

// Lab 05's schema registry, with v1 and v2 of the event schema registered under the topic's subject.
await ensure('registry', ports.registry, async () =>
  (await startRegistry({ port: ports.registry, dataDir: join(runDir, 'registry'), logDir, keepAfterExit: true })).process);
const registryUrl = `http://127.0.0.1:${ports.registry}/apis/ccompat/v7`;
const schemas = await registerLabSchemas(registryUrl, config.KAFKA_TOPIC);

// Avro mode: the version lab 05's replicas write and its workers read with (v2 reads v1 and v2 records).
const schemaEnv = { SCHEMA_REGISTRY_URL: registryUrl, SCHEMA_VERSION: '2' };

// The replicas reach Kafka through Toxiproxy, so `curl` on its API can cut or slow them.
const viaToxiproxy = [`127.0.0.1:${ports.kafkaViaToxiproxy}`];
for (const [i, port] of ports.apis.entries()) {
  const id = `api-${i + 1}`;
  await ensure(id, port, async () => (await startApiReplica({
    id, port, brokers: viaToxiproxy, logDir, keepAfterExit: true,
    ...(mode === 'avro' ? { entry: 'labs/05-schema-evolution/src/server.ts', env: { LOG_LEVEL: 'info', ...schemaEnv } } : { env: { LOG_LEVEL: 'info' } }),
  })).process);
}

// The complete worker: lab 02's consumer group plus lab 04's retry lane and dead-letter topic
// (in Avro mode lab 05's, which is lab 04's lanes with a reader schema).
const workerCount = Number(process.env.WORKERS ?? 2);
for (let i = 1; i <= workerCount; i++) {
  const id = `worker-${i}`;
  const metricsPort = ports.workerMetricsBase + i;
  await ensureWorker(id, metricsPort, () => startWorker({ id, kind: mode === 'avro' ? 'avro' : 'with-dlq', brokers: directBrokers,
    profileDb: join(runDir, 'profiles.db'), logDir, keepAfterExit: true,
    env: { METRICS_PORT: String(metricsPort), ...(mode === 'avro' ? schemaEnv : {}) } }));
}

// Lab 06's stream processor, alongside the workers (STREAM_PROCESSORS=0 leaves it out). It listens on no
// port: it is up once its log says so, and a process that dies on start fails here. It reads JSON and
// Avro alike (lab 05's decoder), asking the registry for the writer schema of Avro records.
const processorCount = Number(process.env.STREAM_PROCESSORS ?? 1);
for (let i = 1; i <= processorCount; i++) {
  const id = `streams-${i}`;
  const previous = readPids().find((p) => p.name === id);
  if (previous && isOurs(previous)) {
    console.log(`  ${id.padEnd(10)} already running (pid ${previous.pid})`);
    continue;
  }
  const processor = startWorker({ id, kind: 'stream-processor', brokers: directBrokers, profileDb: join(runDir, 'profiles.db'), logDir, keepAfterExit: true,
    env: schemaEnv });
  writePid(id, processor.process.pid);
  const alive = failIfExited(processor.process);
  await waitFor(`${id} to start (log: ${processor.process.logFile})`, () => {
    alive();
    return existsSync(processor.process.logFile) && readFileSync(processor.process.logFile, 'utf8').includes('stream processor started');
  }, { timeoutMs: 120_000, intervalMs: 250 });
  console.log(`  ${id.padEnd(10)} started (pid ${processor.process.pid}, log ${processor.process.logFile})`);
}

let nginxLimits = '';
await ensure('nginx', ports.nginx, async () => {
  const nginx = await startNginx({
    upstreams: ports.apis.map((p) => `127.0.0.1:${p}`),
    port: ports.nginx,
    prefix: join(runDir, 'nginx'),
    keepAfterExit: true,
  });
  nginxLimits = ` (limit ${nginx.rate} r/s per IP, burst ${nginx.burst})`;
  return nginx.process;
});

console.log(`
crm-event-lab is up${mode === 'avro' ? ', writing Avro' : ''}:
  nginx      http://127.0.0.1:${ports.nginx}${nginxLimits}
  api        ${ports.apis.map((p) => `http://127.0.0.1:${p}`).join('  ')} (app limit ${config.RATE_LIMIT_MAX} req per ${config.RATE_LIMIT_WINDOW_MS / 1000} s per IP)${mode === 'avro' ? '\n             lab 05: Avro with schema v2 (Confluent wire format: byte 0, schema id, body)' : ''}
  kafka      127.0.0.1:${ports.kafka} (direct)   127.0.0.1:${ports.kafkaViaToxiproxy} (through Toxiproxy, used by the API)
  toxiproxy  http://127.0.0.1:${ports.toxiproxy} (proxy "kafka")
  registry   ${registryUrl} (lab 05)
  schemas    ${schemas}
  workers    ${workerCount} in group ${config.CONSUMER_GROUP}${mode === 'avro' ? ' (lab 05: reader schema v2, JSON too)' : ''}, profiles in ${join(runDir, 'profiles.db')}
  streams    ${processorCount} stream processor(s) (lab 06): windows and login counts in crm-user-hourly, crm-user-activity-15m, crm-user-logins
  logs       ${logDir}

Send an event:
  curl -i -X POST http://127.0.0.1:${ports.nginx}/track -H 'content-type: application/json' \\
    -d '{"user_id":"user_123","event_type":"page_view","properties":{"page":"/pricing"}}'
Read the topic back:
  bash infra/kafka-cli.sh console-consumer --bootstrap-server 127.0.0.1:${ports.kafka} --topic ${config.KAFKA_TOPIC} \\
    --from-beginning --property print.key=true --property print.partition=true
Consumer lag per partition, and the dead-letter queue:
  npm run lag
  npm run dlq -- list
Metrics, a live dashboard, one event's trace:
  curl -s http://127.0.0.1:${ports.apis[0]}/metrics
  npm run dashboard    (http://127.0.0.1:${ports.dashboard})
  npm run trace
Stop everything: npm run down`);
process.exit(0);
