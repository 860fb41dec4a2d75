import { join } from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../../../infra/test/run-tsx.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readAudit, verifyAuditLog } from '../../../shared/audit.js';
import { dlqReplayGroupOf } from '../../../shared/config.js';
import { createEventProducer, createKafka } from '../../../shared/kafka.js';
import { createTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { DeadLetterQueue } from '../src/dlq.js';
import { encodeFailureHeaders } from '../src/retry-policy.js';
import { readRawTopic } from '../src/raw-records.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('lab04-cli-events');
const dlqTopic = uniqueTopic('lab04-cli-dlq');
const groupId = uniqueTopic('crm-event-processors');
const auditLog = join(mkdtempSync(join(tmpdir(), 'lab04-audit-')), 'audit.log');
const env = { KAFKA_TOPIC: topic, KAFKA_DLQ_TOPIC: dlqTopic, CONSUMER_GROUP: groupId, DLQ_REPLAY_CAP: '3', AUDIT_LOG: auditLog, AUDIT_ACTOR: 'oncall-alice' };
let admin: Admin;
let producer: Producer;
let dlq: DeadLetterQueue;

/** Runs `npm run dlq -- …`; a hang is a failure (timeout), a non-zero exit is returned, not thrown. */
const dlqCli = (...args: string[]) => runCli('labs/04-dlq/src/dlq-cli.ts', args, { ...env, KAFKA_BROKERS: brokers.join(',') });

const failure = (offset: number) => encodeFailureHeaders({
  attempts: 4, attemptTimes: [1, 2, 3, 4], lastError: 'boom', retryAt: 5, original: { topic, partition: 0, offset },
});

beforeAll(async () => {
  await createTopic(brokers, topic, 1);
  await createTopic(brokers, dlqTopic, 1);
  const kafka = createKafka(brokers, 'lab04-cli-test');
  admin = kafka.admin();
  await admin.connect();
  producer = createEventProducer(kafka);
  await producer.connect();
  dlq = new DeadLetterQueue(admin, brokers, dlqTopic, dlqReplayGroupOf(groupId));
  await producer.send({
    topic: dlqTopic, acks: -1, messages: [
      { key: 'u1', value: 'not json {', headers: { ...failure(0), request_id: 'req-1' } },
      { key: 'u2', value: null, headers: failure(1) },
      { key: 'u3', value: '{"user_id":"u3"}', headers: { ...failure(2), replay_count: '3' } },
    ],
  });
});
afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
});

describe('npm run dlq', () => {
  it('lists dead letters whose value is not JSON, or null, instead of hanging', async () => {
    const list = await dlqCli('list');
    console.log(list.stdout.trim());
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('3 pending');
    expect(list.stdout).toContain('(not JSON)');
    expect(list.stdout).toContain('(null)');
  });

  it('replays the raw bytes and headers, counts the replay in a header, and refuses an event replayed DLQ_REPLAY_CAP times', async () => {
    const replay = await dlqCli('replay');
    console.log(replay.stdout.trim(), replay.stderr.trim());
    expect(replay.code).toBe(1);
    expect(replay.stdout).toContain('replayed 2');
    expect(replay.stderr).toContain(`refusing to replay ${dlqTopic}/0/2: replayed 3 times already (DLQ_REPLAY_CAP=3)`);
    expect(await dlq.depth()).toBe(1); // the refused one stays pending

    const replayed = await readRawTopic(brokers, topic);
    expect(replayed.map((r) => [r.key?.toString(), r.value?.toString() ?? null])).toEqual([['u1', 'not json {'], ['u2', null]]);
    expect(replayed[0]!.headers).toEqual({ request_id: 'req-1', replay_count: '1', replayed_from: `${dlqTopic}/0/0` });
    expect(replayed[1]!.headers).toEqual({ replay_count: '1', replayed_from: `${dlqTopic}/0/1` });
  });

  it('`show` and `replay` each append who, what and when to the hash-chained audit log (`list` does not)', async () => {
    // After the replay above, offset 2 (the refused one) is the only one pending.
    const before = readAudit(auditLog).length;
    expect((await dlqCli('list')).code).toBe(0);
    expect(readAudit(auditLog)).toHaveLength(before);
    const show = await dlqCli('show', '2');
    expect(show.code).toBe(0);
    const entries = readAudit(auditLog).map(({ actor, action, target, details }) => ({ actor, action, target, details }));
    expect(entries).toEqual([
      { actor: 'oncall-alice', action: 'dlq.replay', target: dlqTopic, details: { to: topic, offsets: ['0/0', '0/1'], refused: '0/2' } },
      { actor: 'oncall-alice', action: 'dlq.show', target: `${dlqTopic}/0/2`, details: { event_id: '?', key: 'u3' } },
    ]);
    expect(readAudit(auditLog).every((r) => !Number.isNaN(Date.parse(r.at)))).toBe(true);
    expect(verifyAuditLog(auditLog)).toEqual([]);
  });
});
