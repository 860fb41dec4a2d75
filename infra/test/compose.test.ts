/**
 * docker-compose.yml runs the seed's topology for real: events sent through compose's nginx are
 * acked by its 3 API replicas, stored in its Kafka and applied by its workers; `--scale worker=3`
 * adds a member to the group; `down -v` leaves nothing behind. Runs with LAB_RUNTIME=containers
 * (after `bash infra/images/build.sh`, which infra/test.sh runs for that runtime).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProfileStore } from '../../labs/02-consumer-groups/src/profile-store.js';
import { createKafka, partitionFor } from '../../shared/kafka.js';
import { consumerLag, totalLag } from '../../shared/lag.js';
import { countByStatus, httpRequest, track, type HttpResult } from '../../shared/testing/http.js';
import { readTopic } from '../../shared/testing/kafka.js';
import { waitForStableGroup } from '../../shared/testing/groups.js';
import { freePorts, waitFor } from '../processes.js';
import { ComposeProject } from '../runtime/containers/compose.js';
import { labRuntime } from '../runtime/runtime.js';

const topic = 'crm-events';
const group = 'crm-event-processors';
/** nginx's fixed address on the compose network (docker-compose.yml), the replicas' TRUST_PROXY. */
const nginxAddress = '172.28.0.10';

describe.runIf(labRuntime() === 'containers')('docker-compose.yml', () => {
  let project: ComposeProject;
  let nginxUrl: string;
  let brokers: string[];
  let admin: Admin;

  beforeAll(async () => {
    const [nginxPort, kafkaPort] = await freePorts(2);
    project = new ComposeProject(`crm-lab-compose-${randomBytes(3).toString('hex')}`,
      { NGINX_PORT: String(nginxPort), KAFKA_EXTERNAL_PORT: String(kafkaPort) });
    nginxUrl = `http://127.0.0.1:${nginxPort}`;
    brokers = [`127.0.0.1:${kafkaPort}`];
    await project.run('up', '-d');
    // nginx starts once every replica answers /ready (depends_on: service_healthy); the edge serves
    // /health, not /ready, so a replica answering /health through it means nginx is up in front of them.
    await waitFor('compose nginx in front of a ready replica', async () =>
      (await httpRequest({ url: `${nginxUrl}/health`, method: 'GET' })).status === 200, { timeoutMs: 120_000, intervalMs: 500 });
    admin = createKafka(brokers, 'crm-lab-compose-test').admin();
    await admin.connect();
  }, 180_000);

  afterAll(async () => {
    await admin?.disconnect();
    await project?.run('down', '-v', '--remove-orphans').catch(() => undefined);
  }, 120_000);

  it('runs 3 API replicas, nginx, Kafka and 2 workers', async () => {
    const counts = Object.fromEntries(await Promise.all(['kafka', 'api', 'nginx', 'worker'].map(async (service) =>
      [service, (await project.runningContainers(service)).length])));
    expect(counts).toEqual({ kafka: 1, api: 3, nginx: 1, worker: 2 });
  });

  it('acks events through nginx on every replica, stores each once, and the 2 workers apply each once', async () => {
    await waitForStableGroup(admin, group, topic, 2, 120_000);
    // Users on both partitions, so each of the 2 workers (one partition each) has work.
    const users = Array.from({ length: 40 }, (_, i) => `compose_${i}`);
    expect(new Set(users.map((u) => partitionFor(u, 2))).size).toBe(2);
    const results: HttpResult[] = [];
    for (const user_id of users) results.push(await track(nginxUrl, { user_id, event_type: 'login' }));
    expect(countByStatus(results)).toEqual({ 202: users.length });
    const instances = new Set(results.map((r) => r.headers['x-api-instance']));
    expect(instances.size).toBe(3);

    const acked = results.map((r) => r.body.event_id as string);
    const stored = new Map<string, number>();
    const clientIps = new Map<string, string>();
    for (const r of await readTopic(brokers, topic)) {
      stored.set(r.value.event_id, (stored.get(r.value.event_id) ?? 0) + 1);
      clientIps.set(r.value.event_id, r.value.client_ip);
    }
    expect(acked.filter((id) => stored.get(id) !== 1)).toEqual([]);
    // The replicas believed nginx's X-Forwarded-For (TRUST_PROXY is nginx's fixed address, which its
    // config binds to): the client_ip is the peer nginx saw, never nginx itself.
    expect(acked.filter((id) => !clientIps.get(id) || clientIps.get(id) === nginxAddress)).toEqual([]);

    await waitFor('the workers to commit every event', async () =>
      totalLag(await consumerLag(admin, group, topic)) === 0, { timeoutMs: 60_000, intervalMs: 500 });
    const store = new ProfileStore(join(await project.volumePath('profiles'), 'profiles.db'));
    try {
      const applied = store.processed().filter((p) => acked.includes(p.event_id));
      expect(applied.map((p) => p.event_id).sort()).toEqual([...acked].sort());
      expect(new Set(applied.map((p) => p.worker_id)).size).toBe(2);
      expect(users.map((u) => store.profile(u)?.login_count)).toEqual(users.map(() => 1));
    } finally {
      store.close();
    }
  });

  it('adds a 3rd worker to the group with --scale worker=3', async () => {
    await project.run('up', '-d', '--scale', 'worker=3');
    const stable = await waitForStableGroup(admin, group, topic, 3, 120_000);
    expect(stable.members).toHaveLength(3);
    expect((await project.runningContainers('worker')).length).toBe(3);
  });

  it('leaves no container, network or volume behind after down -v', async () => {
    await admin.disconnect();
    await project.run('down', '-v', '--remove-orphans');
    expect(await project.containers()).toEqual([]);
    expect(await project.networksAndVolumes()).toEqual([]);
  });
});
