/**
 * Lab 07's shared rate-limit store: Debian's redis-server (infra/install.sh) on a picked free port,
 * in memory only (no RDB or AOF file: a lost counter costs one window of leniency, nothing more).
 * A local process, or crm-lab/redis (the same Debian package) with LAB_RUNTIME=containers.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, startOnPickedPorts, waitForPort, type ManagedProcess, type PortPicker } from './processes.js';
import { launcher } from './runtime/launcher.js';

export interface RedisServer {
  url: string;
  port: number;
  process: ManagedProcess;
}

export async function startRedis(opts: { port?: number; logDir?: string; keepAfterExit?: boolean; pickPorts?: PortPicker } = {}): Promise<RedisServer> {
  const logDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'crm-redis-'));
  const pick: PortPicker = opts.port === undefined ? (opts.pickPorts ?? freePorts) : async () => [opts.port!];
  return startOnPickedPorts(1, pick, async ([port]) => {
    const proc = launcher().redis({
      args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', logDir],
      dir: logDir, logFile: join(logDir, 'redis.log'), keepAfterExit: opts.keepAfterExit,
    });
    await waitForPort(proc, port!);
    return { url: `redis://127.0.0.1:${port}`, port: port!, process: proc };
  }, opts.port === undefined ? 3 : 1);
}
