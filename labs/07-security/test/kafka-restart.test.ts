import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labRuntime } from '../../../infra/runtime/runtime.js';
import { loadConfig } from '../../../shared/config.js';
import { createEventProducer, createKafka } from '../../../shared/kafka.js';
import { describePrincipalAcls } from '../src/kafka-acls.js';
import { startLabSecureKafka, type LabSecureKafka } from '../src/secure-kafka.js';

// `npm run up -- --secure` after `npm run down` starts the broker again on its data folder: the SCRAM
// users were written when it was formatted, the topics and ACLs live in its metadata log.
const config = loadConfig({});
const dir = mkdtempSync(join(tmpdir(), 'lab07-kafka-restart-'));
const dirs = { secretsDir: join(dir, 'secrets'), dataDir: join(dir, 'kafka'), tlsDir: join(dir, 'tls'), config, heapMb: 384 };
const started: LabSecureKafka[] = [];

afterAll(async () => {
  for (const lab of started) await lab.broker.process.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(labRuntime() !== 'native')('the secure broker restarted on its data folder', () => {
  it('keeps its users, topics and ACLs: api produces again, and the ACLs are not doubled', async () => {
    const first = await startLabSecureKafka(dirs);
    started.push(first);
    await first.broker.process.stop();
    const again = await startLabSecureKafka({ ...dirs, clientPort: first.broker.ports.client, controllerPort: first.broker.ports.controller });
    started.push(again);

    const producer = createEventProducer(createKafka(again.broker.brokers, 'lab07-restart-api', again.broker.clientConfig('api')), { idempotent: true });
    await producer.connect();
    const acks = await producer.send({ topic: config.KAFKA_TOPIC, acks: -1, messages: [{ key: 'user_1', value: '{"n":1}' }] });
    await producer.disconnect();
    const admin = createKafka(again.broker.brokers, 'lab07-restart-admin', again.broker.clientConfig('admin')).admin();
    await admin.connect();
    try {
      const acls = { api: await describePrincipalAcls(admin, 'api'), worker: await describePrincipalAcls(admin, 'worker') };
      const topics = (await admin.listTopics()).filter((t) => !t.startsWith('__')).sort();
      console.log(`after restart: acked=${acks.length} api ACLs=${acls.api.length} worker ACLs=${acls.worker.length} topics=${topics.join(',')}`);
      expect(acks).toHaveLength(1);
      expect([acls.api.length, acls.worker.length]).toEqual([3, 10]);
      expect(topics).toEqual([config.KAFKA_TOPIC, config.KAFKA_DLQ_TOPIC, config.KAFKA_RETRY_TOPIC].sort());
    } finally {
      await admin.disconnect();
    }
  });

  it('refuses to start when a password file is newer than the data folder (the broker would not know that password)', async () => {
    for (const lab of started) await lab.broker.process.stop();
    rmSync(join(dirs.secretsDir, 'api.password'));
    await expect(startLabSecureKafka(dirs)).rejects.toThrow(/new Kafka passwords for api .* was formatted with the old ones/);
  });
});
