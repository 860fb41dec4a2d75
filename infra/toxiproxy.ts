import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Toxiproxy } from 'toxiproxy-node-client';
import { freePort, waitForPort, type ManagedProcess } from './processes.js';
import { launcher } from './runtime/launcher.js';

export interface ToxiproxyServer {
  apiUrl: string;
  client: Toxiproxy;
  process: ManagedProcess;
}

/** Starts toxiproxy-server (built by infra/install.sh, or its image) on a free port. */
export async function startToxiproxy(opts: { port?: number; logDir?: string; keepAfterExit?: boolean } = {}): Promise<ToxiproxyServer> {
  const port = opts.port ?? (await freePort());
  const logDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'crm-toxiproxy-'));
  const proc = launcher().toxiproxy({ port, logFile: join(logDir, 'toxiproxy.log'), keepAfterExit: opts.keepAfterExit });
  await waitForPort(proc, port);
  const apiUrl = `http://127.0.0.1:${port}`;
  return { apiUrl, client: new Toxiproxy(apiUrl), process: proc };
}
