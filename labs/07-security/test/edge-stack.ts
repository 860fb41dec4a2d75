/**
 * Lab 07's edge as the tests run it: Redis (behind a Toxiproxy proxy of its own), three lab 07
 * replicas that accept only nginx's address, and nginx serving HTTPS with the lab CA's certificate.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Toxiproxy, type Proxy } from 'toxiproxy-node-client';
import { startApiReplica, type ApiReplica } from '../../../infra/api.js';
import { startNginx, type NginxServer } from '../../../infra/nginx.js';
import { freePort } from '../../../infra/processes.js';
import { startRedis, type RedisServer } from '../../../infra/redis.js';
import { ensureServerCert } from '../../../infra/tls.js';
import { EDGE_PROXY_ADDRESS } from '../../../shared/config.js';
import { sum, scrape } from '../../../shared/observability/prom-text.js';
import { httpRequest, type HttpResult } from '../../../shared/testing/http.js';
import { createTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { WriteKeyStore } from '../src/write-keys.js';

export const CUSTOMER_LIMIT = 100;

export interface EdgeStack {
  topic: string;
  dir: string;
  keys: WriteKeyStore;
  auditLog: string;
  ca: Buffer;
  redis: RedisServer;
  redisProxy: Proxy;
  replicas: ApiReplica[];
  nginx: NginxServer;
  stop(): Promise<void>;
}

export async function startEdgeStack(brokers: string[], toxiproxyUrl: string, env: NodeJS.ProcessEnv = {}): Promise<EdgeStack> {
  const topic = uniqueTopic('lab07-edge');
  const dir = mkdtempSync(join(tmpdir(), 'crm-lab07-edge-'));
  const keysDb = join(dir, 'write-keys.db');
  const keys = new WriteKeyStore(keysDb);
  const cert = ensureServerCert(join(dir, 'tls'), 'nginx');
  await createTopic(brokers, topic, 2);
  const redis = await startRedis({ logDir: dir });
  const redisProxy = await new Toxiproxy(toxiproxyUrl).createProxy({
    name: `redis-${randomBytes(4).toString('hex')}`, listen: `127.0.0.1:${await freePort()}`, upstream: `127.0.0.1:${redis.port}`,
  });
  const replicas = await Promise.all(['api-1', 'api-2', 'api-3'].map((id) => startApiReplica({
    id, brokers, entry: 'labs/07-security/src/server.ts', logDir: dir,
    env: {
      KAFKA_TOPIC: topic, WRITE_KEYS_DB: keysDb, REDIS_URL: `redis://${redisProxy.listen}`, API_ALLOWED_PEERS: EDGE_PROXY_ADDRESS,
      CUSTOMER_RATE_LIMIT_MAX: String(CUSTOMER_LIMIT), CUSTOMER_RATE_LIMIT_WINDOW_MS: '600000', ...env,
    },
  })));
  const nginx = await startNginx({ upstreams: replicas.map((r) => `127.0.0.1:${r.port}`), tls: cert });
  return {
    topic, dir, keys, auditLog: join(dir, 'audit.log'), ca: readFileSync(cert.caFile), redis, redisProxy, replicas, nginx,
    async stop() {
      await nginx.process.stop();
      await Promise.all(replicas.map((r) => r.process.stop()));
      await redisProxy.remove();
      await redis.process.stop();
      keys.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** POST through the HTTPS edge, trusting the lab CA, as client `ip`, with `writeKey` when given. */
export function post(stack: EdgeStack, path: '/track' | '/batch', body: unknown, o: { writeKey?: string; ip?: string } = {}): Promise<HttpResult> {
  return httpRequest({ url: `${stack.nginx.url}${path}`, body, ca: stack.ca, localAddress: o.ip ?? '127.0.3.1',
    headers: o.writeKey === undefined ? {} : { authorization: `Bearer ${o.writeKey}` } });
}

/** A metric summed over the three replicas, read from their own ports. */
export async function replicaSum(stack: EdgeStack, name: string, match: Record<string, string> = {}): Promise<number> {
  const samples = await Promise.all(stack.replicas.map((r) => scrape(`${r.url}/metrics`)));
  return samples.reduce((total, s) => total + sum(s, name, match), 0);
}
