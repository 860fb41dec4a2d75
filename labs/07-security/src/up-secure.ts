/**
 * `npm run up -- --secure`: the system of labs 01–04 with every layer of lab 07 on, as local processes
 * left running (`npm run down` stops them):
 *   Kafka with SASL_SSL (SCRAM-SHA-512) and ACLs per principal → Toxiproxy → Redis (the per-customer
 *   limit) → 3 lab 07 replicas (write keys, that limit, nginx-only peers, sealed PII) → PII workers
 *   (lab 04's lanes, opening the PII) → nginx serving HTTPS, refusing plain HTTP.
 * Same ports and run folder as the plain stack, so one of the two runs at a time (claimStackMode).
 * Lab 05's registry and lab 06's stream processor are not part of it: neither has a principal yet.
 */
import { join } from 'node:path';
import { loadConfig } from '../../../shared/config.js';
import { startApiReplica } from '../../../infra/api.js';
import { startNginx } from '../../../infra/nginx.js';
import { startRedis } from '../../../infra/redis.js';
import { runDir, stackPorts } from '../../../infra/stack.js';
import { claimStackMode, ensure, ensureKafkaProxy, ensureWorker } from '../../../infra/stack-ensure.js';
import { ensureServerCert } from '../../../infra/tls.js';
import { startWorker } from '../../../infra/worker.js';
import { labPrincipals } from './kafka-acls.js';
import { ensureKafkaSecrets } from './kafka-secrets.js';
import { secureServiceEnv, startLabSecureKafka, superUser } from './secure-kafka.js';
import { WriteKeyStore } from './write-keys.js';

const ports = stackPorts();
const config = loadConfig();
const logDir = join(runDir, 'logs');
const tlsDir = join(runDir, 'tls');
const secretsDir = join(runDir, 'kafka-secrets');
/** nginx connects to the replicas from this address, and the replicas accept no other. */
const edgeAddress = '127.0.0.254';
// One set of files for every process, whatever its working folder.
const dataEnv = {
  WRITE_KEYS_DB: join(runDir, 'write-keys.db'),
  PII_KEY_DB: join(runDir, 'secrets', 'pii-keys.db'),
  PII_KEK_FILE: join(runDir, 'secrets', 'pii-kek'),
  AUDIT_LOG: join(runDir, 'audit.log'),
};

claimStackMode('secure');
console.log('Starting crm-event-lab, secured (lab 07):');
await ensure('kafka', ports.kafka, async () => (await startLabSecureKafka({
  dataDir: join(runDir, 'kafka-secure'), tlsDir, secretsDir, config,
  clientPort: ports.kafka, controllerPort: ports.kafkaController,
  proxiedListenerPort: ports.kafkaProxiedListener, proxiedAdvertisedPort: ports.kafkaViaToxiproxy, keepAfterExit: true,
})).broker.process);
const secrets = ensureKafkaSecrets([superUser, ...labPrincipals], secretsDir);
const caFile = join(tlsDir, 'ca.pem');
const envAs = (principal: 'api' | 'worker', brokers: string[]) => secureServiceEnv(principal, { brokers, caFile, secrets });

// As in the plain stack, the replicas reach Kafka through Toxiproxy; TLS passes through it untouched.
await ensureKafkaProxy({ port: ports.toxiproxy, listenPort: ports.kafkaViaToxiproxy, upstreamPort: ports.kafkaProxiedListener, logDir });

let redisUrl = `redis://127.0.0.1:${ports.redis}`;
await ensure('redis', ports.redis, async () => {
  const redis = await startRedis({ port: ports.redis, logDir, keepAfterExit: true });
  redisUrl = redis.url;
  return redis.process;
});

// A first write key, so the stack can be tried at once; shown this one time only (the store keeps its hash).
const keys = new WriteKeyStore(dataEnv.WRITE_KEYS_DB);
const firstKey = keys.list().some((k) => !k.revoked_at) ? undefined : keys.create('demo');
keys.close();

const viaToxiproxy = [`127.0.0.1:${ports.kafkaViaToxiproxy}`];
const directBrokers = [`127.0.0.1:${ports.kafka}`];
for (const [i, port] of ports.apis.entries()) {
  const id = `api-${i + 1}`;
  await ensure(id, port, async () => (await startApiReplica({
    id, port, brokers: viaToxiproxy, logDir, keepAfterExit: true, entry: 'labs/07-security/src/server.ts',
    env: { ...envAs('api', viaToxiproxy), ...dataEnv, LOG_LEVEL: 'info', WRITE_KEYS: 'on', REDIS_URL: redisUrl,
      API_ALLOWED_PEERS: edgeAddress, PII_SEAL: 'on' },
  })).process);
}

const workerCount = Number(process.env.WORKERS ?? 2);
for (let i = 1; i <= workerCount; i++) {
  const id = `worker-${i}`;
  const metricsPort = ports.workerMetricsBase + i;
  await ensureWorker(id, metricsPort, () => startWorker({ id, kind: 'pii', brokers: directBrokers, profileDb: join(runDir, 'profiles.db'),
    logDir, keepAfterExit: true, env: { ...envAs('worker', directBrokers), ...dataEnv, METRICS_PORT: String(metricsPort) } }));
}

const nginxCert = ensureServerCert(tlsDir, 'nginx');
await ensure('nginx', ports.nginxTls, async () => (await startNginx({
  upstreams: ports.apis.map((p) => `127.0.0.1:${p}`), port: ports.nginxTls, plainHttpPort: ports.nginx,
  proxyBind: edgeAddress, tls: nginxCert, prefix: join(runDir, 'nginx'), keepAfterExit: true,
})).process);

const edge = `https://127.0.0.1:${ports.nginxTls}`;
console.log(`
crm-event-lab is up, secured (lab 07):
  nginx      ${edge} (TLS; CA ${caFile})   http://127.0.0.1:${ports.nginx} answers 403 https_required
  api        ${ports.apis.map((p) => `127.0.0.1:${p}`).join('  ')}: write keys, per-customer limit in Redis, only ${edgeAddress} (nginx) may call, PII sealed
  kafka      127.0.0.1:${ports.kafka} SASL_SSL, SCRAM-SHA-512, ACLs for ${labPrincipals.join(', ')} (passwords in ${secretsDir})
  redis      ${redisUrl} (per-customer limit, shared by the replicas)
  workers    ${workerCount} PII workers in group ${config.CONSUMER_GROUP}, profiles in ${join(runDir, 'profiles.db')}
  not here   lab 05's registry and lab 06's stream processor (no principal for them yet)
${firstKey ? `
Write key for customer "demo" (${firstKey.keyId}), shown only now:
  ${firstKey.writeKey}
` : `
Write keys: npm run keys -- list   (a key is shown only when created: npm run keys -- create <customer>)
`}
Send an event:
  curl -i --cacert ${caFile} -X POST ${edge}/track -H 'content-type: application/json' \\
    -H 'authorization: Bearer ${firstKey?.writeKey ?? '<write key>'}' \\
    -d '{"user_id":"user_123","event_type":"signup","properties":{"email":"ana@example.com"}}'
Forget a user (crypto-shredding): npm run erase -- user_123
Stop everything: npm run down`);
process.exit(0);
