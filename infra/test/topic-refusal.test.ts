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
import { freePorts } from '../processes.js';
import { isOurs, readPids } from '../stack.js';
import { createTopic, uniqueTopic } from '../../shared/testing/kafka.js';
import { runTsx } from './run-tsx.js';

const { brokers } = inject('kafka');
const runDir = mkdtempSync(join(tmpdir(), 'topic-refusal-'));
const logDir = mkdtempSync(join(tmpdir(), 'topic-refusal-logs-'));

afterAll(async () => {
  await runTsx('infra/down.ts', { env: { CRM_LAB_RUN_DIR: runDir }, timeoutMs: 60_000 });
  rmSync(runDir, { recursive: true, force: true });
  rmSync(logDir, { recursive: true, force: true });
});

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
    const [kafka, controller, proxied, viaProxy, toxiproxy, nginx, registry, metrics, ...apis] = await freePorts(11);
    const result = await runTsx('infra/up.ts', { timeoutMs: 180_000, env: {
      CRM_LAB_RUN_DIR: runDir, KAFKA_PORT: String(kafka), KAFKA_CONTROLLER_PORT: String(controller),
      KAFKA_PROXIED_LISTENER_PORT: String(proxied), KAFKA_TOXIPROXY_PORT: String(viaProxy), TOXIPROXY_PORT: String(toxiproxy),
      NGINX_PORT: String(nginx), SCHEMA_REGISTRY_PORT: String(registry), WORKER_METRICS_PORT_BASE: String(metrics! - 1),
      API_PORTS: apis.join(','), KAFKA_REPLICATION_FACTOR: '2', KAFKA_MIN_INSYNC_REPLICAS: '1',
    } });
    expect(result.code).toBe(1);
    const refusal = JSON.parse(result.stderr.trim().split('\n').at(-1)!);
    expect(refusal.error).toBe('replication_unavailable');
    expect(refusal.message).toContain('crm-events');
    // Only Kafka was started: no replica, worker or nginx runs on a topic that cannot hold its promise.
    expect(readPids(runDir).filter(isOurs).map((p) => p.name)).toEqual(['kafka']);
  });
});
