import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Toxiproxy } from 'toxiproxy-node-client';
import { toxiproxyServerBin } from './paths.js';
import { freePort, launch, waitForPort, type ManagedProcess } from './processes.js';

export interface ToxiproxyServer {
  apiUrl: string;
  client: Toxiproxy;
  process: ManagedProcess;
}

/** Starts toxiproxy-server (built by infra/install.sh) on a free port. */
export async function startToxiproxy(opts: { port?: number; logDir?: string; keepAfterExit?: boolean } = {}): Promise<ToxiproxyServer> {
  const port = opts.port ?? (await freePort());
  const logDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'crm-toxiproxy-'));
  const proc = launch('toxiproxy', toxiproxyServerBin, ['-host', '127.0.0.1', '-port', String(port)], {
    logFile: join(logDir, 'toxiproxy.log'),
    keepAfterExit: opts.keepAfterExit,
  });
  await waitForPort(proc, port);
  const apiUrl = `http://127.0.0.1:${port}`;
  return { apiUrl, client: new Toxiproxy(apiUrl), process: proc };
}
