import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EDGE_PROXY_ADDRESS, loadConfig } from '../shared/config.js';
import { repoRoot } from './paths.js';
import { freePorts, startOnPickedPorts, waitForPort, type ManagedProcess, type PortPicker } from './processes.js';
import { launcher } from './runtime/launcher.js';

export interface NginxOptions {
  /** API replicas, as host:port. */
  upstreams: string[];
  port?: number;
  /** How a free port is picked when `port` is not given (tests force the race with it). */
  pickPorts?: PortPicker;
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** limit_req rate per client IP (requests per second). Default 20, or NGINX_RATE. */
  rate?: number;
  /** limit_req burst served without delay. Default 50, or NGINX_BURST. */
  burst?: number;
  workers?: number | 'auto';
  /** The address nginx connects to the replicas from: the replicas' TRUST_PROXY. Default 127.0.0.254. */
  proxyBind?: string;
  /** client_max_body_size of /batch, in bytes. Default BATCH_BODY_LIMIT_BYTES (shared/config.ts). */
  batchBodyLimitBytes?: number;
  prefix?: string;
  keepAfterExit?: boolean;
  /**
   * Lab 07: serve HTTPS on `port` with this certificate (infra/tls.ts `ensureServerCert(dir, 'nginx')`),
   * and refuse plain HTTP on a second port (`plainHttpPort`, picked free when not given) with a JSON 403.
   */
  tls?: { certFile: string; keyFile: string };
  plainHttpPort?: number;
}

export interface NginxServer {
  /** http://…, or https://… with `tls`. */
  url: string;
  port: number;
  /** With `tls`: the plain-HTTP port's URL, which answers every request with 403 https_required. */
  plainHttpUrl?: string;
  confFile: string;
  rate: number;
  burst: number;
  process: ManagedProcess;
}

type Defaulted = 'proxyBind' | 'batchBodyLimitBytes' | 'tls' | 'plainHttpPort';

/** What stands between these markers (the plain-HTTP server, the 497 page) exists only with TLS on. */
const TLS_ONLY_BLOCK = /\n[ \t]*# tls-only:begin[\s\S]*?# tls-only:end[^\n]*/g;

export function renderNginxConf(o: Required<Omit<NginxOptions, 'keepAfterExit' | 'pickPorts' | Defaulted>> & Pick<NginxOptions, Defaulted>): string {
  if (o.tls && o.plainHttpPort === undefined) throw new Error('nginx with tls needs plainHttpPort, the port that refuses plain HTTP');
  // max_fails=0: never marked dead by counting failures (the template says why).
  const servers = o.upstreams.map((u) => `    server ${u} max_fails=0;`).join('\n');
  const values: Record<string, string> = {
    WORKERS: String(o.workers),
    PREFIX: o.prefix,
    RATE: String(o.rate),
    BURST: String(o.burst),
    LISTEN: o.tls ? `${o.host}:${o.port} ssl` : `${o.host}:${o.port}`,
    TLS_DIRECTIVES: o.tls
      ? `ssl_certificate ${o.tls.certFile};\n    ssl_certificate_key ${o.tls.keyFile};\n    ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_session_cache shared:tls:1m;`
      : '# plain HTTP (lab 07 serves HTTPS here: infra/nginx.ts `tls`)',
    ...(o.tls ? { PLAIN_LISTEN: `${o.host}:${o.plainHttpPort}`, TLS_PORT: String(o.port) } : {}),
    UPSTREAM_SERVERS: servers,
    PROXY_BIND: o.proxyBind ?? EDGE_PROXY_ADDRESS,
    BATCH_MAX_BODY: String(o.batchBodyLimitBytes ?? loadConfig({}).BATCH_BODY_LIMIT_BYTES),
  };
  const full = readFileSync(join(repoRoot, 'infra', 'nginx', 'nginx.conf.template'), 'utf8');
  const template = o.tls ? full : full.replace(TLS_ONLY_BLOCK, '');
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    if (!(key in values)) throw new Error(`nginx template: no value for ${key}`);
    return values[key]!;
  });
}

/** Starts nginx in the foreground with the repo's config on an unprivileged port. */
export async function startNginx(opts: NginxOptions): Promise<NginxServer> {
  // A port picked free may be taken before nginx binds it: then it picks again (PortTakenError).
  // A port given explicitly is kept, and its being taken is an error.
  const pick: PortPicker = opts.port === undefined ? (opts.pickPorts ?? freePorts) : async () => [opts.port!];
  if (!opts.tls) return startOnPickedPorts(1, pick, ([port]) => startNginxOn(port!, opts));
  const pickPlain: PortPicker = opts.plainHttpPort === undefined ? (opts.pickPorts ?? freePorts) : async () => [opts.plainHttpPort!];
  return startOnPickedPorts(1, pick, ([port]) => startOnPickedPorts(1, pickPlain, ([plain]) => startNginxOn(port!, opts, plain)));
}

/** The certificate and key beside nginx's config: the prefix is what a container of nginx sees. */
function copyIntoPrefix(tls: { certFile: string; keyFile: string }, dir: string) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  copyFileSync(tls.certFile, join(dir, 'server.pem'));
  copyFileSync(tls.keyFile, join(dir, 'server.key'));
  return { certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server.key') };
}

async function startNginxOn(port: number, opts: NginxOptions, plainHttpPort?: number): Promise<NginxServer> {
  const prefix = opts.prefix ?? mkdtempSync(join(tmpdir(), 'crm-nginx-'));
  const options = {
    upstreams: opts.upstreams,
    port,
    host: opts.host ?? '127.0.0.1',
    rate: opts.rate ?? Number(process.env.NGINX_RATE ?? 20),
    burst: opts.burst ?? Number(process.env.NGINX_BURST ?? 50),
    workers: opts.workers ?? 'auto',
    prefix,
    proxyBind: opts.proxyBind,
    batchBodyLimitBytes: opts.batchBodyLimitBytes ?? loadConfig().BATCH_BODY_LIMIT_BYTES,
    tls: opts.tls && copyIntoPrefix(opts.tls, join(prefix, 'tls')),
    plainHttpPort,
  };
  mkdirSync(join(options.prefix, 'tmp'), { recursive: true });
  chmodSync(options.prefix, 0o755); // workers run as an unprivileged user when started by root
  const confFile = join(options.prefix, 'nginx.conf');
  writeFileSync(confFile, renderNginxConf(options));
  const proc = launcher().nginx({ prefix: options.prefix, confFile, logFile: join(options.prefix, 'nginx.out'), keepAfterExit: opts.keepAfterExit });
  await waitForPort(proc, options.port);
  if (plainHttpPort !== undefined) await waitForPort(proc, plainHttpPort);
  return {
    url: `${opts.tls ? 'https' : 'http'}://${options.host}:${options.port}`,
    port: options.port,
    ...(plainHttpPort !== undefined ? { plainHttpUrl: `http://${options.host}:${plainHttpPort}` } : {}),
    confFile, rate: options.rate, burst: options.burst, process: proc,
  };
}

/**
 * The config of docker-compose.yml's nginx: infra/images/build.sh renders it into crm-lab/compose-nginx.
 * The seed's addresses: the edge on 8081, service `api` on 8000 (compose's DNS gives nginx every replica).
 */
export function renderDockerNginxConf(): string {
  return renderNginxConf({
    upstreams: ['api:8000'],
    host: '0.0.0.0',
    port: 8081,
    rate: 20,
    burst: 50,
    workers: 'auto',
    prefix: '/tmp/nginx',
    // nginx's fixed address on the compose network (docker-compose.yml), the replicas' TRUST_PROXY.
    proxyBind: '172.28.0.10',
    batchBodyLimitBytes: 512 * 1024,
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--docker') {
  process.stdout.write(renderDockerNginxConf());
}
