/**
 * `npm run up` and `npm run down` act only on processes they started: `down` does not signal a pid
 * that now belongs to another process, and `up` does not take a port some other process holds for
 * one of its own components. Each runs the real infra/down.ts or infra/up.ts on a temporary run
 * folder (CRM_LAB_RUN_DIR) and on free ports, never on the default ones.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, freePorts, waitFor } from '../processes.js';
import { writePid } from '../stack.js';
import { runTsx } from './run-tsx.js';

const started: ChildProcess[] = [];
const servers: Server[] = [];
let runDir: string;

afterEach(async () => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(runDir, { recursive: true, force: true });
});

const newRunDir = () => (runDir = mkdtempSync(join(tmpdir(), 'stack-test-')));

/** A long-lived process in its own group, as `up` starts its components. */
function sleeper(): ChildProcess {
  const child = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
  started.push(child);
  return child;
}

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** Runs infra/<script> with the temporary run folder; resolves with its exit code and output. */
const run = (script: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000) =>
  runTsx(join('infra', script), { env: { CRM_LAB_RUN_DIR: runDir, ...env }, timeoutMs, onSpawn: (child) => started.push(child) });

describe('npm run down', () => {
  it('stops the process it recorded (pid and start time) and removes the pid file', async () => {
    newRunDir();
    const component = sleeper();
    writePid('api-9', component.pid!, runDir); // as `up` records what it started
    const result = await run('down.ts');
    expect(result.code).toBe(0);
    await waitFor('the recorded process to exit', () => !alive(component), { timeoutMs: 20_000 });
    expect(result.stdout).toContain(`stopped api-9 (pid ${component.pid})`);
    expect(readdirSync(join(runDir, 'pids'))).toEqual([]);
  });

  it('leaves alone a process whose pid is in a pid file but which is not the one recorded (a reused pid), and says so', async () => {
    newRunDir();
    const stranger = sleeper();
    mkdirSync(join(runDir, 'pids'), { recursive: true });
    // The pid file of a worker that died; its pid now belongs to another process (another start time).
    writeFileSync(join(runDir, 'pids', 'worker-1.pid'), `${stranger.pid} 1\n`);
    // A pid file from before start times were recorded names a pid and nothing to check it by.
    const strangerToo = sleeper();
    writeFileSync(join(runDir, 'pids', 'worker-2.pid'), String(strangerToo.pid));
    const result = await run('down.ts');
    expect(result.code).toBe(0);
    expect(alive(stranger)).toBe(true);
    expect(alive(strangerToo)).toBe(true);
    expect(result.stdout).toContain(`worker-1: pid ${stranger.pid} is not the process up started`);
    expect(result.stdout).toContain(`worker-2: pid ${strangerToo.pid} is not the process up started`);
    expect(readdirSync(join(runDir, 'pids'))).toEqual([]);
  });
});

describe('npm run up', () => {
  it("refuses, naming the port, when another process holds one of its components' ports", async () => {
    newRunDir();
    const foreign = createServer(() => undefined); // accepts and never answers, like an unrelated service
    servers.push(foreign);
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
    const port = (foreign.address() as { port: number }).port;
    const [controller, proxied, viaToxiproxy, toxiproxy, nginx, api1, api2, api3] = await freePorts(8);
    const result = await run('up.ts', {
      KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controller), KAFKA_PROXIED_LISTENER_PORT: String(proxied),
      KAFKA_TOXIPROXY_PORT: String(viaToxiproxy), TOXIPROXY_PORT: String(toxiproxy), NGINX_PORT: String(nginx),
      API_PORTS: [api1, api2, api3].join(','), WORKER_METRICS_PORT_BASE: String(await freePort()), WORKERS: '0',
    }, 30_000);
    expect(result.stdout).not.toContain('already running');
    expect(result.code).toBe(1);
    const refusal = JSON.parse(result.stderr.trim().split('\n').at(-1)!);
    expect(refusal.error).toBe('port_in_use');
    expect(refusal.message).toContain(`port ${port}`);
    expect(refusal.message).toContain('kafka');
    expect(refusal.message).toContain('KAFKA_PORT');
    expect(refusal.message).toContain(`pid ${process.pid}`); // the test process holds it
  });
});
