import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type KafkaConfig } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiReplica, type ApiReplica } from '../../../infra/api.js';
import { deniedRequests, failedAuthentications } from '../../../infra/kafka-secure.js';
import { freePorts, waitFor } from '../../../infra/processes.js';
import { labRuntime } from '../../../infra/runtime/runtime.js';
import { ensureLocalCa } from '../../../infra/tls.js';
import { startWorker, type WorkerProcess } from '../../../infra/worker.js';
import { dlqReplayGroupOf, loadConfig, retryGroupOf } from '../../../shared/config.js';
import { createEventProducer, createKafka, ensureTopic } from '../../../shared/kafka.js';
import { track } from '../../../shared/testing/http.js';
import { ProfileStore } from '../../02-consumer-groups/src/profile-store.js';
import { describePrincipalAcls } from '../src/kafka-acls.js';
import { startLabSecureKafka, type LabSecureKafka } from '../src/secure-kafka.js';
import { consumerCrash, refusal } from './kafka-refusals.js';

const config = loadConfig({});
const { KAFKA_TOPIC: topic, KAFKA_DLQ_TOPIC: dlqTopic, KAFKA_RETRY_TOPIC: retryTopic, CONSUMER_GROUP: group } = config;
const otherTopic = 'crm-audit-export';
const N = 200;
const dir = mkdtempSync(join(tmpdir(), 'lab07-kafka-'));
let lab: LabSecureKafka;
let admin: Admin;
const processes: { stop(): Promise<void> }[] = [];

/** A client that fails fast: one attempt, short timeouts (a refusal is an answer, not a reason to retry). */
const client = (clientId: string, security: Pick<KafkaConfig, 'ssl' | 'sasl'>) => new Kafka({
  brokers: lab.broker.brokers, clientId, logLevel: logLevel.NOTHING, connectionTimeout: 5_000, requestTimeout: 10_000,
  retry: { retries: 0 }, ...security,
});
/** A client of `user`; `failFast`: one attempt (a refusal is an answer, not a reason to retry). */
const asUser = (user: string, failFast = false) => createKafka(lab.broker.brokers, `lab07-${user}`, {
  ...lab.broker.clientConfig(user), ...(failFast ? { retry: { retries: 0 } } : {}),
});

/** What one refused attempt left: the client's error chain and the broker authorizer's new "Denied" lines. */
interface Refused { client: string[]; denied: string[] }

async function attempt(user: string, run: () => Promise<string[] | undefined>): Promise<Refused | undefined> {
  const before = deniedRequests(lab.broker, user).length;
  const client = await run();
  // The authorizer logs its refusal before the answer leaves the broker; the log file may lag a moment.
  const denied = client ? await waitFor('the broker to log the refusal', () => {
    const lines = deniedRequests(lab.broker, user).slice(before);
    return lines.length > 0 ? lines : undefined;
  }, { timeoutMs: 5_000 }).catch(() => []) : [];
  return client && { client, denied };
}

/** A consumer of `user` in `groupId` reading `t`, refused or not. kafkajs reports a refused group as "Failed to find group coordinator". */
function read(user: string, groupId: string, t: string): Promise<Refused | undefined> {
  return attempt(user, async () => {
    const consumer = asUser(user, true).consumer({ groupId, maxWaitTimeInMs: 100 });
    try {
      return await consumerCrash(consumer, t);
    } finally {
      await consumer.disconnect();
    }
  });
}

const show = (r: Refused | undefined) => (r ? `${r.client[0]} | broker: ${r.denied.map((d) => d.replace(/ from host.*? on resource = /, ' on ').replace(/ with resourceRefCount.*/, '')).join('; ') || '(nothing logged)'}` : 'NOT REFUSED');

async function stored(t: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(t);
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

const events = (from: number, count: number, prefix: string) => Array.from({ length: count }, (_, i) => ({
  key: `user_${(from + i) % 17}`,
  value: JSON.stringify({ event_id: `${prefix}-${from + i}`, user_id: `user_${(from + i) % 17}`, event_type: 'page_view',
    properties: {}, timestamp: new Date().toISOString(), server_timestamp: new Date().toISOString(), client_ip: '127.0.0.1' }),
}));

// The secure broker's storage is formatted on this machine with the SCRAM users (infra/kafka-secure.ts).
const native = labRuntime() === 'native';

beforeAll(async () => {
  if (!native) return;
  lab = await startLabSecureKafka({ secretsDir: join(dir, 'secrets'), dataDir: join(dir, 'kafka'), heapMb: 384, config });
  processes.push(lab.broker.process);
  admin = createKafka(lab.broker.brokers, 'lab07-admin', lab.broker.clientConfig('admin')).admin();
  await admin.connect();
  await ensureTopic(createKafka(lab.broker.brokers, 'lab07-admin', lab.broker.clientConfig('admin')), otherTopic, 1);
});
afterAll(async () => {
  await admin?.disconnect();
  for (const p of processes.reverse()) await p.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!native)('authentication and encryption in transit', () => {
  it('refuses a client without TLS or SASL, and one with TLS but no SASL: neither fetches metadata nor produces', async () => {
    const plain = client('lab07-plaintext', {});
    const tlsOnly = client('lab07-tls-only', { ssl: lab.broker.clientConfig('api').ssl });
    const before = await stored(topic);
    const failedBefore = failedAuthentications(lab.broker).length;
    const refusals = [];
    for (const kafka of [plain, tlsOnly]) {
      const probe = kafka.admin();
      refusals.push(await refusal(async () => { await probe.connect(); await probe.fetchTopicMetadata({ topics: [topic] }); }));
      await probe.disconnect();
      const producer = kafka.producer();
      refusals.push(await refusal(async () => { await producer.connect(); await producer.send({ topic, acks: -1, messages: events(0, 1, 'anon') }); }));
      await producer.disconnect();
    }
    console.log(`unauthenticated attempts: ${refusals.length}, refused: ${refusals.filter(Boolean).length}`);
    for (const r of refusals) console.log(`  ${r?.slice(0, 2).join(' / ')}`);
    expect(refusals.filter(Boolean)).toHaveLength(4);
    // The broker never saw a request it could read: the connection closes during the TLS or SASL handshake.
    for (const r of refusals) expect(r!.join(' ')).toMatch(/KafkaJSConnection(Closed)?Error|closed|timeout/i);
    expect(await stored(topic)).toBe(before);
    // The broker's side: the plaintext client's bytes are no TLS hello; the TLS-only client's first
    // request comes before any SASL login.
    const failed = await waitFor('the broker to log the failed authentications', () => {
      const lines = failedAuthentications(lab.broker).slice(failedBefore);
      return lines.length >= 4 ? lines : undefined;
    }, { timeoutMs: 5_000 }).catch(() => failedAuthentications(lab.broker).slice(failedBefore));
    console.log(`broker: ${failed.length} failed authentications\n  ${failed.join('\n  ')}`);
    expect(failed.filter((line) => line.includes('(SSL handshake failed)'))).toHaveLength(2);
    expect(failed.filter((line) => line.includes('during SASL handshake'))).toHaveLength(2);
  });

  it('refuses a wrong password: SASL SCRAM-SHA-512 authentication fails', async () => {
    const { ssl, sasl } = lab.broker.clientConfig('api');
    const wrong = client('lab07-wrong-password', { ssl, sasl: { ...(sasl as { username: string }), mechanism: 'scram-sha-512', password: 'not-the-password' } });
    const producer = wrong.producer();
    const failedBefore = failedAuthentications(lab.broker).length;
    const r = await refusal(() => producer.connect());
    await producer.disconnect();
    const failed = await waitFor('the broker to log the failed login', () => {
      const lines = failedAuthentications(lab.broker).slice(failedBefore);
      return lines.length > 0 ? lines : undefined;
    }, { timeoutMs: 5_000 }).catch(() => []);
    console.log(`wrong password: ${r?.slice(0, 2).join(' / ')}\n  broker: ${failed.join('; ') || '(nothing logged)'}`);
    expect(failed.join('\n')).toContain('invalid credentials with SASL mechanism SCRAM-SHA-512');
    expect(r).toContain('KafkaJSSASLAuthenticationError');
    expect(r!.join(' ')).toMatch(/SCRAM SHA512 authentication failed/);
  });

  it('fails the TLS handshake of a client that does not trust the lab CA (another CA, or the system CAs)', async () => {
    const otherCa = ensureLocalCa(join(dir, 'other-ca'));
    const { sasl } = lab.broker.clientConfig('api');
    const results = [];
    for (const ssl of [{ ca: [readFileSync(otherCa, 'utf8')] }, true]) {
      const producer = client('lab07-untrusting', { ssl, sasl }).producer();
      results.push(await refusal(() => producer.connect()));
      await producer.disconnect();
    }
    for (const r of results) console.log(`untrusted CA: ${r?.slice(0, 2).join(' / ')}`);
    expect(results.filter(Boolean)).toHaveLength(2);
    for (const r of results) expect(r!.join(' ')).toMatch(/self[- ]signed certificate|unable to (get|verify)[^/]*certificate/i);
  });
});

describe.skipIf(!native)('authorization: each principal gets what its ACLs name, nothing else', () => {
  it('holds exactly the ACL table of kafka-acls.ts: api 3 grants, worker 10', async () => {
    const api = await describePrincipalAcls(admin, 'api');
    const worker = await describePrincipalAcls(admin, 'worker');
    console.log(`api: ${api.join(', ')}\nworker: ${worker.join(', ')}`);
    expect(api).toEqual([`topic:${topic}:DESCRIBE`, `topic:${topic}:DESCRIBE_CONFIGS`, `topic:${topic}:WRITE`]);
    expect(worker).toEqual([
      `group:${group}:READ`, `group:${retryGroupOf(group)}:READ`, `group:${dlqReplayGroupOf(group)}:DESCRIBE`,
      `topic:${dlqTopic}:DESCRIBE_CONFIGS`, `topic:${dlqTopic}:WRITE`,
      `topic:${topic}:DESCRIBE_CONFIGS`, `topic:${topic}:READ`,
      `topic:${retryTopic}:DESCRIBE_CONFIGS`, `topic:${retryTopic}:READ`, `topic:${retryTopic}:WRITE`,
    ].sort());
  });

  it(`lets api produce ${N} events to crm-events (all acked, all stored) and refuses its writes elsewhere and its reads`, async () => {
    const before = await stored(topic);
    const producer = createEventProducer(asUser('api', true), { idempotent: true });
    await producer.connect();
    let acked = 0;
    for (let from = 0; from < N; from += 50) {
      const results = await producer.send({ topic, acks: -1, messages: events(from, 50, 'api') });
      acked += results.length > 0 ? 50 : 0;
    }
    const refusals: Record<string, Refused | undefined> = {};
    for (const t of [dlqTopic, retryTopic, otherTopic]) {
      refusals[`write ${t}`] = await attempt('api', () => refusal(() => producer.send({ topic: t, acks: -1, messages: events(0, 1, 'api-elsewhere') })));
    }
    await producer.disconnect();
    for (const g of [group, 'api-reader']) refusals[`read ${topic} in group ${g}`] = await read('api', g, topic);
    const after = await stored(topic);
    console.log(`api: acked=${acked} stored=${after - before}; refused ${Object.values(refusals).filter(Boolean).length} of ${Object.keys(refusals).length}`);
    for (const [what, r] of Object.entries(refusals)) console.log(`  ${what}: ${show(r)}`);
    expect(acked).toBe(N);
    expect(after - before).toBe(N);
    for (const t of [dlqTopic, retryTopic, otherTopic]) {
      expect(refusals[`write ${t}`]?.client ?? ['not refused']).toContain('TOPIC_AUTHORIZATION_FAILED');
      // api may not even see these topics: the producer's metadata request for them is refused (DESCRIBE).
      expect(refusals[`write ${t}`]?.denied.join('\n') ?? 'not refused').toContain(`on resource = Topic:LITERAL:${t} for request = Metadata`);
    }
    for (const g of [group, 'api-reader']) {
      expect(refusals[`read ${topic} in group ${g}`]?.client ?? ['not refused']).toContain('KafkaJSGroupCoordinatorNotFound');
      expect(refusals[`read ${topic} in group ${g}`]?.denied.join('\n') ?? 'not refused').toContain(`on resource = Group:LITERAL:${g} for request = FindCoordinator`);
    }
    expect([await stored(dlqTopic), await stored(retryTopic), await stored(otherTopic)]).toEqual([0, 0, 0]);
  });

  it(`lets worker consume all ${N} in crm-event-processors and commit, write the DLQ; refuses its writes to crm-events and reads of the DLQ`, async () => {
    const consumer = asUser('worker').consumer({ groupId: group, maxWaitTimeInMs: 100 });
    const seen = new Set<string>();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: true, autoCommitThreshold: 1, eachMessage: async ({ message }) => {
      seen.add(JSON.parse(message.value!.toString()).event_id);
    } });
    await waitFor(`worker to read ${N} events`, () => seen.size >= N, { timeoutMs: 60_000 }).catch((error) => {
      throw new Error(`${(error as Error).message} (read ${seen.size})`);
    });
    await consumer.stop(); // commits what it processed
    await consumer.disconnect();
    const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    const lag = committed[0]!.partitions.reduce((sum, p) => sum + Number(ends.find((e) => e.partition === p.partition)!.high) - Number(p.offset), 0);

    const producer = createEventProducer(asUser('worker', true));
    await producer.connect();
    await producer.send({ topic: dlqTopic, acks: -1, messages: events(0, 5, 'dead') });
    const writeMain = await attempt('worker', () => refusal(() => producer.send({ topic, acks: -1, messages: events(0, 1, 'worker-main') })));
    const writeOther = await attempt('worker', () => refusal(() => producer.send({ topic: otherTopic, acks: -1, messages: events(0, 1, 'worker-other') })));
    await producer.disconnect();
    const readDlq = await read('worker', retryGroupOf(group), dlqTopic);
    const readOtherGroup = await read('worker', 'worker-elsewhere', topic);

    console.log(`worker: read=${seen.size} lag after commit=${lag} dlq stored=${await stored(dlqTopic)}`);
    console.log(`  write ${topic}: ${show(writeMain)}\n  write ${otherTopic}: ${show(writeOther)}\n  read ${dlqTopic}: ${show(readDlq)}\n  group worker-elsewhere: ${show(readOtherGroup)}`);
    expect(seen.size).toBe(N);
    expect(lag).toBe(0);
    expect(await stored(dlqTopic)).toBe(5);
    expect(writeMain?.client ?? ['not refused']).toContain('TOPIC_AUTHORIZATION_FAILED');
    expect(writeMain?.denied.join('\n') ?? 'not refused').toContain(`operation = WRITE from host = 127.0.0.1 on resource = Topic:LITERAL:${topic}`);
    expect(writeOther?.client ?? ['not refused']).toContain('TOPIC_AUTHORIZATION_FAILED');
    expect(readDlq?.client ?? ['not refused']).toContain('TOPIC_AUTHORIZATION_FAILED');
    expect(readDlq?.denied.join('\n') ?? 'not refused').toContain(`operation = READ from host = 127.0.0.1 on resource = Topic:LITERAL:${dlqTopic}`);
    expect(readOtherGroup?.client ?? ['not refused']).toContain('KafkaJSGroupCoordinatorNotFound');
    expect(readOtherGroup?.denied.join('\n') ?? 'not refused').toContain('on resource = Group:LITERAL:worker-elsewhere');
    expect(await stored(topic)).toBe(N);
  });
});

describe.skipIf(!native)('the services, configured by environment only', () => {
  let api: ApiReplica;
  let worker: WorkerProcess;

  it('carry an event from the lab 01 API (202) through the lab 04 worker (applied) as api and worker; the worker\'s lag and DLQ gauges read', async () => {
    const profileDb = join(dir, 'profiles.db');
    api = await startApiReplica({ id: 'api-secure', brokers: lab.broker.brokers, env: lab.envFor('api'), logDir: dir });
    processes.push(api.process);
    const [metricsPort] = await freePorts(1);
    worker = startWorker({ id: 'worker-secure', kind: 'with-dlq', brokers: lab.broker.brokers, profileDb, logDir: dir,
      env: { ...lab.envFor('worker'), METRICS_PORT: String(metricsPort) } });
    processes.push(worker.process);
    const userId = `secure_${randomBytes(3).toString('hex')}`;
    const response = await track(api.url, { user_id: userId, event_type: 'page_view', properties: { page: '/secure' } });
    expect(response.status).toBe(202);
    const eventId = (response.body as { event_id: string }).event_id;
    const store = new ProfileStore(profileDb);
    try {
      const applied = await waitFor(`event ${eventId} applied (worker log: ${worker.process.logFile})`,
        () => store.processed().find((r) => r.event_id === eventId), { timeoutMs: 60_000, intervalMs: 250 });
      console.log(`202 ${eventId} → applied by ${applied.worker_id} at ${topic}/${applied.partition}/${applied.offset}`);
      expect(applied.user_id).toBe(userId);
      // Read at scrape time with the worker's own credentials: its group's lag, and the DLQ's depth
      // (the 5 dead letters of the test above, never replayed: the replay group's committed offset is read).
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const gauges = metrics.split('\n').filter((line) => /^(dlq_depth|kafka_consumer_lag)\{/.test(line));
      console.log(gauges.join('\n'));
      expect(gauges.find((line) => line.startsWith('dlq_depth{') && line.includes(`topic="${dlqTopic}"`))).toMatch(/ 5$/);
      expect(gauges.filter((line) => line.startsWith('kafka_consumer_lag{') && line.includes(`group="${group}"`))).toHaveLength(config.KAFKA_TOPIC_PARTITIONS);
      expect(readFileSync(worker.process.logFile, 'utf8')).not.toContain('cannot read offsets');
    } finally {
      store.close();
    }
  });
});
