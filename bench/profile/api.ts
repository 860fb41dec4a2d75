/**
 * `npm run profile -- api`: the 3 API replicas (LOG_LEVEL=info, as `npm run up` runs them) behind
 * nginx, each under --cpu-prof, with `POST /track` evenly paced (shared/paced-load.ts). The three
 * profiles add up to one table. Rate limits are raised as in `npm run bench` (BENCH_LIMITS).
 */
import { join } from 'node:path';
import { startApiReplica, type ApiReplica } from '../../infra/api.js';
import { startNginx, type NginxServer } from '../../infra/nginx.js';
import { pacedLoad } from '../../shared/paced-load.js';
import { BENCH_LIMITS } from '../stacks.js';
import { cpuShare, cpuSnapshot } from '../cpu.js';
import { cpuProfEnv, monotonicUs } from './cpu-prof.js';
import type { ProfiledLoad, ProfileRun } from './run.js';

const clientEvent = (i: number) => ({ user_id: `profile_user_${i % 100}`, event_type: i % 5 === 0 ? 'login' : 'page_view', properties: { page: '/pricing', i } });

export async function profileApi(o: ProfileRun): Promise<ProfiledLoad> {
  const logDir = join(o.root, 'logs');
  const env = { ...BENCH_LIMITS, ...cpuProfEnv(o.profDir), KAFKA_TOPIC: o.topic, LOG_LEVEL: 'info', ...o.env };
  let replicas: ApiReplica[] = [];
  let nginx: NginxServer | undefined;
  try {
    const started = await Promise.allSettled(['api-1', 'api-2', 'api-3'].map((id) => startApiReplica({ id, brokers: o.brokers, env, logDir })));
    replicas = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    nginx = await startNginx({
      upstreams: replicas.map((r) => `127.0.0.1:${r.port}`), rate: Number(BENCH_LIMITS.NGINX_RATE), burst: Number(BENCH_LIMITS.NGINX_BURST),
      prefix: join(o.root, 'nginx'),
    });
    // A short warm-up outside the window: connections, JIT, the producers' metadata.
    await pacedLoad({ url: nginx.url, path: '/track', rate: o.rate, durationS: Math.min(3, o.seconds), connections: 50, body: (i) => JSON.stringify(clientEvent(i)) });
    const fromUs = monotonicUs();
    const cpuBefore = cpuSnapshot();
    const load = await pacedLoad({ url: nginx.url, path: '/track', rate: o.rate, durationS: o.seconds, connections: 50, body: (i) => JSON.stringify(clientEvent(i)) });
    const toUs = monotonicUs();
    const cpuCores = cpuShare(cpuBefore, cpuSnapshot(), { workers: replicas.map((r) => r.process.pid) }).workers;
    const statuses = Object.entries(load.statuses).map(([code, n]) => `${code}: ${n}`).join(', ');
    return { events: load.ok, window: { fromUs, toUs }, cpuCores, notes: [`${load.achievedRate.toFixed(0)} req/s achieved; answers ${statuses}`, `replica logs: ${logDir}`] };
  } finally {
    await nginx?.process.stop().catch(() => undefined);
    // SIGTERM: each replica's graceful stop exits 0, which writes its profile.
    await Promise.all(replicas.map((r) => r.process.stop(30_000).catch(() => undefined)));
  }
}
