/**
 * `npm run up -- --secure` brings lab 07's stack up with one command: the real up-secure.ts on a
 * temporary run folder and free ports, then an event through every layer, then `npm run down`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts, waitFor } from '../../../infra/processes.js';
import { isOurs, readPids } from '../../../infra/stack.js';
import { runTsx } from '../../../infra/test/run-tsx.js';
import { httpRequest } from '../../../shared/http.js';

const runDir = mkdtempSync(join(tmpdir(), 'lab07-up-'));
let env: NodeJS.ProcessEnv = {};

const run = (file: string) => runTsx(file, { env, timeoutMs: 240_000 });

afterAll(async () => {
  await run('infra/down.ts');
  rmSync(runDir, { recursive: true, force: true });
});

describe('npm run up -- --secure', () => {
  it('starts every layer with one command: an event with the printed key is 202 over HTTPS and its PII reaches the profile store; plain HTTP and the plain stack are refused; down stops it all', async () => {
    const [kafka, controller, proxied, viaProxy, toxiproxy, nginx, nginxTls, redis, metrics, ...apis] = await freePorts(12);
    env = {
      CRM_LAB_RUN_DIR: runDir, KAFKA_PORT: String(kafka), KAFKA_CONTROLLER_PORT: String(controller),
      KAFKA_PROXIED_LISTENER_PORT: String(proxied), KAFKA_TOXIPROXY_PORT: String(viaProxy), TOXIPROXY_PORT: String(toxiproxy),
      NGINX_PORT: String(nginx), NGINX_TLS_PORT: String(nginxTls), REDIS_PORT: String(redis),
      WORKER_METRICS_PORT_BASE: String(metrics! - 1), WORKERS: '1', API_PORTS: apis.join(','),
    };
    const up = await run('labs/07-security/src/up-secure.ts');
    expect(up.stderr + up.stdout).toContain('crm-event-lab is up, secured');
    expect(up.code).toBe(0);
    const writeKey = /^\s+(crm_wk_\S+)$/m.exec(up.stdout)?.[1];
    expect(writeKey).toBeDefined();

    const ca = readFileSync(join(runDir, 'tls', 'ca.pem'));
    const event = { user_id: 'user_up_secure', event_type: 'signup', properties: { email: 'ana@example.com' } };
    const accepted = await httpRequest({ url: `https://127.0.0.1:${nginxTls}/track`, body: event, ca, headers: { authorization: `Bearer ${writeKey}` } });
    expect(accepted.status).toBe(202);
    const plain = await httpRequest({ url: `http://127.0.0.1:${nginx}/track`, body: event, headers: { authorization: `Bearer ${writeKey}` } });
    expect([plain.status, plain.body.error]).toEqual([403, 'https_required']);
    const keyless = await httpRequest({ url: `https://127.0.0.1:${nginxTls}/track`, body: event, ca });
    expect([keyless.status, keyless.body.error]).toEqual([401, 'missing_write_key']);

    // The worker (SASL as `worker`) opened the sealed e-mail into the profile store.
    const email = await waitFor('the PII worker to apply the event', () => {
      const db = new Database(join(runDir, 'profiles.db'), { readonly: true, fileMustExist: true });
      try {
        return (db.prepare('SELECT email FROM contacts WHERE user_id = ?').get('user_up_secure') as { email: string } | undefined)?.email;
      } catch {
        return undefined; // the worker has not created its tables yet
      } finally {
        db.close();
      }
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(email).toBe('ana@example.com');

    // The plain stack shares the ports and the run folder: refused while this one runs.
    const plainUp = await run('infra/up.ts');
    expect(plainUp.code).toBe(1);
    expect(JSON.parse(plainUp.stderr.trim().split('\n').at(-1)!).error).toBe('stack_mode_mismatch');

    const down = await run('infra/down.ts');
    expect(down.code).toBe(0);
    expect(readPids(runDir).filter(isOurs)).toEqual([]);
  });
});
