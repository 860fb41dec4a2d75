/**
 * The two systems the bench measures side by side:
 *  - the *stripped* stack: its own broker, 3 replicas (LOG_LEVEL=warn) talking to it directly,
 *    nginx; no workers, no Toxiproxy — the ceiling of the ingest path alone;
 *  - the *full* stack: `infra/up.ts` itself, exactly as `npm run up` runs it (Kafka, Toxiproxy in
 *    the replicas' path, lab 05's registry, 3 replicas at LOG_LEVEL=info, nginx, 2 lab 04 workers and
 *    lab 06's stream processor consuming — both counted as "workers" in the CPU table), on free
 *    ports and in its own run folder, stopped with `infra/down.ts` at the end.
 * Both get the same raised rate limits (printed by the bench), so that nothing is refused.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApiReplica, type ApiReplica } from '../infra/api.js';
import { startKafka, type KafkaBroker } from '../infra/kafka.js';
import { startNginx, type NginxServer } from '../infra/nginx.js';
import { repoRoot } from '../infra/paths.js';
import { freeConsecutivePorts, freePorts } from '../infra/processes.js';
import type { ComponentGroups } from './cpu.js';

/** Limits in force during the bench: high enough that no request is refused, still evaluated on every request. */
export const BENCH_LIMITS = {
  NGINX_RATE: '100000', // limit_req r/s per client IP
  NGINX_BURST: '100000',
  RATE_LIMIT_MAX: '100000000', // per replica per client IP per RATE_LIMIT_WINDOW_MS
  BATCH_RATE_LIMIT_EVENTS: '100000000',
};

export interface StrippedStack {
  kafka: KafkaBroker;
  replicas: ApiReplica[];
  nginx: NginxServer;
  groups: () => ComponentGroups;
  /** Restarts the replicas on their ports with other settings (e.g. PRODUCER_LINGER_MS=0). */
  restartReplicas(env: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

export async function startStrippedStack(root: string, topic: string, apiEnv: Record<string, string>): Promise<StrippedStack> {
  const kafka = await startKafka({ dataDir: join(root, 'kafka') });
  const logDir = join(root, 'logs');
  mkdirSync(logDir, { recursive: true });
  let replicas: ApiReplica[] = [];
  let nginx: NginxServer | undefined;
  const baseEnv = { ...BENCH_LIMITS, KAFKA_TOPIC: topic, LOG_LEVEL: 'warn' };
  const startReplicas = async (env: Record<string, string>, ports: (number | undefined)[]) => {
    // allSettled: if one replica fails to start, the others are still stopped.
    const started = await Promise.allSettled(['api-1', 'api-2', 'api-3'].map((id, i) =>
      startApiReplica({ id, brokers: kafka.brokers, port: ports[i], env: { ...baseEnv, ...env }, logDir })));
    replicas = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  const stack: StrippedStack = {
    kafka,
    get replicas() {
      return replicas;
    },
    get nginx() {
      return nginx!;
    },
    groups: () => ({ kafka: [kafka.process.pid], api: replicas.map((r) => r.process.pid), nginx: nginx ? [nginx.process.pid] : [] }),
    async restartReplicas(env) {
      const ports = replicas.map((r) => r.port);
      await Promise.all(replicas.map((r) => r.process.stop()));
      await startReplicas(env, ports);
    },
    async stop() {
      await nginx?.process.stop().catch(() => undefined);
      await Promise.all(replicas.map((r) => r.process.stop().catch(() => undefined)));
      await kafka.process.stop().catch(() => undefined);
    },
  };
  try {
    await startReplicas(apiEnv, []);
    nginx = await startNginx({
      upstreams: replicas.map((r) => `127.0.0.1:${r.port}`),
      rate: Number(BENCH_LIMITS.NGINX_RATE),
      burst: Number(BENCH_LIMITS.NGINX_BURST),
      prefix: join(root, 'nginx'),
    });
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}

export interface FullStack {
  nginxUrl: string;
  /** The API replicas' own URLs (their /metrics). */
  apiUrls: string[];
  /** Kafka's direct listener (the stack's replicas go through Toxiproxy). */
  brokers: string[];
  runDir: string;
  env: NodeJS.ProcessEnv;
  groups: ComponentGroups;
  /** The process groups of each stage an event passes, the stream processor and the registry apart (bench/budget.ts). */
  stages: Record<'nginx' | 'api' | 'kafka' | 'toxiproxy' | 'workers' | 'streams' | 'registry', number[]>;
  /** The workers' profile store (processed_events holds when each event was applied). */
  profileDb: string;
  /** What `up` printed. */
  upOutput: string;
  stop(): void;
}

const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');

/** Runs `infra/up.ts` on free ports in `runDir`, as `npm run up` would (installs are the caller's business). */
export async function startFullStack(runDir: string, o: { replicas?: number; limits?: Record<string, string> } = {}): Promise<FullStack> {
  const [kafka, controller, proxiedListener, viaToxiproxy, toxiproxy, nginx, dashboard, registry] = await freePorts(8);
  // `up` starts one replica per port of API_PORTS (3 by default).
  const apiPorts = await freePorts(o.replicas ?? 3);
  const workerBase = (await freeConsecutivePorts(2)) - 1; // worker-n serves metrics on base + n
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Raised by default; `limits: {}` keeps up's own (bench/spike.ts).
    ...(o.limits ?? BENCH_LIMITS),
    CRM_LAB_RUN_DIR: runDir,
    KAFKA_PORT: String(kafka),
    KAFKA_CONTROLLER_PORT: String(controller),
    KAFKA_PROXIED_LISTENER_PORT: String(proxiedListener),
    KAFKA_TOXIPROXY_PORT: String(viaToxiproxy),
    TOXIPROXY_PORT: String(toxiproxy),
    NGINX_PORT: String(nginx),
    API_PORTS: apiPorts.join(','),
    WORKER_METRICS_PORT_BASE: String(workerBase),
    DASHBOARD_PORT: String(dashboard),
    SCHEMA_REGISTRY_PORT: String(registry),
  };
  const stop = () => {
    spawnSync(tsx, [join(repoRoot, 'infra', 'down.ts')], { env, cwd: repoRoot, stdio: 'ignore', timeout: 120_000 });
  };
  const up = spawnSync(tsx, [join(repoRoot, 'infra', 'up.ts')], { env, cwd: repoRoot, encoding: 'utf8', timeout: 300_000 });
  if (up.status !== 0) {
    stop();
    throw new Error(`infra/up.ts failed (${up.status ?? up.signal}):\n${up.stdout}\n${up.stderr}`);
  }
  const pids = readStackPids(runDir);
  const of = (prefix: string) => pids.filter((p) => p.name.startsWith(prefix)).map((p) => p.pid);
  return {
    nginxUrl: `http://127.0.0.1:${nginx}`,
    apiUrls: apiPorts.map((port) => `http://127.0.0.1:${port}`),
    brokers: [`127.0.0.1:${kafka}`],
    runDir,
    env,
    groups: { kafka: of('kafka'), api: of('api'), nginx: of('nginx'), workers: [...of('worker'), ...of('streams')], toxiproxy: of('toxiproxy') },
    stages: { nginx: of('nginx'), api: of('api'), kafka: of('kafka'), toxiproxy: of('toxiproxy'), workers: of('worker'), streams: of('streams'), registry: of('registry') },
    profileDb: join(runDir, 'profiles.db'),
    upOutput: up.stdout,
    stop,
  };
}

/** The pid files `up` writes (`<runDir>/pids/<name>.pid`; the first number in each is the pid). */
function readStackPids(runDir: string): { name: string; pid: number }[] {
  const dir = join(runDir, 'pids');
  return readdirSync(dir).filter((f) => f.endsWith('.pid')).map((f) => ({
    name: f.slice(0, -'.pid'.length),
    pid: Number(/\d+/.exec(readFileSync(join(dir, f), 'utf8'))?.[0]),
  }));
}
