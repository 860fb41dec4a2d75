/**
 * Issue 10: "refuse to start against a topic with fewer replicas than configured". The topic rules
 * themselves are tested in shared/topic-replication.test.ts; these run the real entry points (an API
 * replica, `npm run up`) and check that each stops with the reason instead of serving on one copy.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startApiReplica } from '../api.js';
import { isOurs, readPids } from '../stack.js';
import { createTopic, uniqueTopic } from '../../shared/testing/kafka.js';
import { upRunFixture } from './full-stack.js';

const { brokers } = inject('kafka');
const { runDir, run, onFreePorts } = upRunFixture('topic-refusal');
const logDir = mkdtempSync(join(tmpdir(), 'topic-refusal-logs-'));

afterAll(() => rmSync(logDir, { recursive: true, force: true }));

describe('a topic with fewer replicas than configured', () => {
  it('stops an API replica at start, with topic_under_replicated in its log, instead of acking on one copy', async () => {
    const topic = uniqueTopic('under-replicated');
    await createTopic(brokers, topic, 1); // one replica: all the test broker can give
    const start = startApiReplica({ id: 'api-refusal', brokers, logDir,
      env: { KAFKA_TOPIC: topic, KAFKA_TOPIC_PARTITIONS: '1', KAFKA_REPLICATION_FACTOR: '2', KAFKA_MIN_INSYNC_REPLICAS: '1' } });
    await expect(start).rejects.toThrow(/exited/);
    const log = readFileSync(join(logDir, 'api-refusal.log'), 'utf8');
    expect(log).toContain('topic_under_replicated');
    expect(log).toContain(topic);
  });

  it('stops npm run up before any API replica starts, naming the replication the broker cannot give', async () => {
    await onFreePorts();
    const result = await run('infra/up.ts', [], { KAFKA_REPLICATION_FACTOR: '2', KAFKA_MIN_INSYNC_REPLICAS: '1' });
    expect(result.code).toBe(1);
    const refusal = JSON.parse(result.stderr.trim().split('\n').at(-1)!);
    expect(refusal.error).toBe('replication_unavailable');
    expect(refusal.message).toContain('crm-events');
    // Only Kafka was started: no replica, worker or nginx runs on a topic that cannot hold its promise.
    expect(readPids(runDir).filter(isOurs).map((p) => p.name)).toEqual(['kafka']);
  });
});
