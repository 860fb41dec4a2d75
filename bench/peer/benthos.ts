/**
 * The peer (issue 19): Benthos v4.27.0 doing lab 01's POST /track job — http_server → kafka_franz,
 * 202 after the broker's ack (acks=all, idempotent), key = user_id — on the same broker and behind
 * the same nginx template as the replicas, so the bench can set the two side by side.
 *
 * Benthos is built outside the repo by bench/peer/install.sh ($CRM_LAB_CACHE/benthos-4.27.0), like the
 * compared Kafka clients (bench/clients/install.sh): neither `up`, the tests nor CI need it. Its
 * config is bench/peer/benthos.yaml, which says why each setting is what it is. Native runtime only:
 * it is a Go binary from the cache, started with infra/processes.ts `launch` (its own process group).
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir, repoRoot } from '../../infra/paths.js';
import { startNginx, type NginxServer } from '../../infra/nginx.js';
import { groupListensOn } from '../../infra/proc-fs.js';
import {
  failedToBind, failIfExited, freePorts, launch, portAcceptsConnections, PortTakenError, startOnPickedPorts, StopWaiting, waitFor,
  type ManagedProcess, type PortPicker,
} from '../../infra/processes.js';
import type { ComponentGroups } from '../cpu.js';
import { BENCH_LIMITS } from '../stacks.js';

export const BENTHOS_VERSION = '4.27.0';
/** Where bench/peer/install.sh builds it; `.complete` is written only after a build succeeded. */
export const benthosDir = join(cacheDir, `benthos-${BENTHOS_VERSION}`);
export const benthosConfig = join(repoRoot, 'bench', 'peer', 'benthos.yaml');

/** The built binary's path, or an error that says how to build it. */
export function benthosBin(): string {
  const bin = join(benthosDir, 'benthos');
  if (!existsSync(join(benthosDir, '.complete')) || !existsSync(bin)) {
    throw new Error(`Benthos v${BENTHOS_VERSION} is not built in ${benthosDir}: run bash bench/peer/install.sh (minutes of CPU, needs Go and the module proxy)`);
  }
  return bin;
}

export interface BenthosPeerOptions {
  brokers: string[];
  topic: string;
  /** Port on 127.0.0.1; a free one is picked when absent (and picked again if taken before the bind). */
  port?: number;
  /** Folder of benthos.log. Default a new temporary folder. */
  logDir?: string;
  /** How the port is picked when none is given. Default freePorts. */
  pickPorts?: PortPicker;
  /** The binary. Default benthosBin(): install.sh's build. */
  bin?: string;
}

export interface BenthosPeer {
  /** http://127.0.0.1:<port>: POST /track. */
  url: string;
  port: number;
  /** 127.0.0.1:<port>: an nginx upstream. */
  address: string;
  /** The process group id (the process leads its own group): what bench/cpu.ts counts. */
  pid: number;
  process: ManagedProcess;
  /** SIGTERM (Benthos drains in-flight requests), SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/** Starts Benthos with bench/peer/benthos.yaml on 127.0.0.1 and waits until it listens. */
export async function startBenthosPeer(opts: BenthosPeerOptions): Promise<BenthosPeer> {
  const bin = opts.bin ?? benthosBin();
  const logDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'crm-benthos-'));
  const pick: PortPicker = opts.port === undefined ? (opts.pickPorts ?? freePorts) : async () => [opts.port!];
  return startOnPickedPorts(1, pick, async ([port]) => {
    const proc = launch('benthos', bin, ['-c', benthosConfig], {
      logFile: join(logDir, 'benthos.log'),
      // Substituted into benthos.yaml; the only settings that vary between runs.
      env: { BENTHOS_ADDRESS: `127.0.0.1:${port}`, KAFKA_BROKERS: opts.brokers.join(','), KAFKA_TOPIC: opts.topic },
    });
    await waitForListener(proc, port!);
    return { url: `http://127.0.0.1:${port}`, port: port!, address: `127.0.0.1:${port}`, pid: proc.pid, process: proc, stop: () => proc.stop() };
  }, opts.port === undefined ? 3 : 1);
}

/**
 * infra/processes.ts `waitForPort`, except for a taken port: Benthos' http_server logs the failed
 * listen ("Server error: listen tcp …: bind: address already in use") and keeps running without a
 * listener, so the log is read at each poll instead of waiting for an exit that never comes.
 */
async function waitForListener(proc: ManagedProcess, port: number): Promise<void> {
  const checkAlive = failIfExited(proc);
  try {
    await waitFor(`benthos on port ${port} (log: ${proc.logFile})`, async () => {
      checkAlive();
      if (failedToBind(proc)) throw new StopWaiting('bind failed');
      return (await portAcceptsConnections(port)) && groupListensOn(proc.pid, port);
    }, { timeoutMs: 30_000, intervalMs: 100 });
  } catch (error) {
    const taken = failedToBind(proc);
    await proc.stop().catch(() => undefined);
    if (taken) throw new PortTakenError(`benthos could not listen: address already in use (port ${port}; log: ${proc.logFile})`);
    throw error;
  }
}

export interface PeerStack {
  peer: BenthosPeer;
  /** The same template and limits as the stripped stack's nginx (bench/stacks.ts), one upstream: Benthos. */
  nginx: NginxServer;
  /** For bench/cpu.ts: Benthos is counted in the `api` column, the role it plays. The broker is the caller's. */
  groups: () => ComponentGroups;
  /** Stops nginx, then Benthos (the broker is the caller's). */
  stop(): Promise<void>;
}

/**
 * Benthos and an nginx in front of it with infra/nginx/nginx.conf.template, at the bench's raised
 * limits (BENCH_LIMITS), in `root` (logs in root/logs, nginx's prefix root/nginx): POST /track to
 * `stack.nginx.url` is proxied to Benthos like the stripped stack's is to its 3 replicas.
 */
export async function startPeerStack(root: string, brokers: string[], topic: string): Promise<PeerStack> {
  const peer = await startBenthosPeer({ brokers, topic, logDir: join(root, 'logs') });
  let nginx: NginxServer;
  try {
    nginx = await startPeerNginx(peer, join(root, 'nginx'));
  } catch (error) {
    await peer.stop().catch(() => undefined);
    throw error;
  }
  return {
    peer,
    nginx,
    groups: () => ({ api: [peer.pid], nginx: [nginx.process.pid] }),
    async stop() {
      await nginx.process.stop().catch(() => undefined);
      await peer.stop().catch(() => undefined);
    },
  };
}

/** nginx with the repo's template and the bench's limits, Benthos its one upstream. */
export function startPeerNginx(peer: BenthosPeer, prefix: string): Promise<NginxServer> {
  return startNginx({
    upstreams: [peer.address],
    rate: Number(BENCH_LIMITS.NGINX_RATE),
    burst: Number(BENCH_LIMITS.NGINX_BURST),
    prefix,
  });
}

/** "Version: v4.27.0 …" from the build log, for the bench's header. */
export function benthosBuildInfo(): string {
  try {
    return readFileSync(join(benthosDir, 'build.log'), 'utf8').split('\n').find((l) => l.startsWith('Version:'))?.trim() ?? `v${BENTHOS_VERSION}`;
  } catch {
    return `v${BENTHOS_VERSION}`;
  }
}
