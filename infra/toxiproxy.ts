import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Toxiproxy } from 'toxiproxy-node-client';
import { freePorts, startOnPickedPorts, waitForPort, type ManagedProcess, type PortPicker } from './processes.js';
import { launcher } from './runtime/launcher.js';

export interface ToxiproxyServer {
  apiUrl: string;
  client: Toxiproxy;
  process: ManagedProcess;
}

/**
 * Starts toxiproxy-server (built by infra/install.sh, or its image) on `port`, or on a free port (picked again
 * if another process takes it before toxiproxy binds it).
 */
export async function startToxiproxy(opts: { port?: number; logDir?: string; keepAfterExit?: boolean; pickPorts?: PortPicker } = {}): Promise<ToxiproxyServer> {
  const logDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'crm-toxiproxy-'));
  const pick: PortPicker = opts.port === undefined ? (opts.pickPorts ?? freePorts) : async () => [opts.port!];
  return startOnPickedPorts(1, pick, async ([port]) => {
    const proc = launcher().toxiproxy({ port: port!, logFile: join(logDir, 'toxiproxy.log'), keepAfterExit: opts.keepAfterExit });
    await waitForPort(proc, port!);
    const apiUrl = `http://127.0.0.1:${port}`;
    return { apiUrl, client: new Toxiproxy(apiUrl), process: proc };
  }, opts.port === undefined ? 3 : 1);
}
