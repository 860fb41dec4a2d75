/**
 * What the tests that run the real `npm run up` share: every port of the stack moved to a free one,
 * the run folder moved to a temporary one, and readers for what the stack leaves behind (the
 * profile store, a topic, the stream processor's log). Never the default ports.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { KafkaMessage } from 'kafkajs';
import { afterAll } from 'vitest';
import { scanTopic } from '../../shared/scan-topic.js';
import { freePorts, waitFor } from '../processes.js';
import { runTsx } from './run-tsx.js';

export interface StackOnFreePorts {
  env: NodeJS.ProcessEnv;
  nginx: number;
  brokers: string[];
  /** The registry's Confluent-compatible API. */
  ccompatUrl: string;
}

/** The environment that puts `up`'s stack on free ports and in `runDir`, with one worker. */
export async function stackOnFreePorts(runDir: string): Promise<StackOnFreePorts> {
  const [kafka, controller, proxied, viaProxy, toxiproxy, nginx, registry, metrics, ...apis] = await freePorts(11);
  return {
    env: {
      CRM_LAB_RUN_DIR: runDir, KAFKA_PORT: String(kafka), KAFKA_CONTROLLER_PORT: String(controller),
      KAFKA_PROXIED_LISTENER_PORT: String(proxied), KAFKA_TOXIPROXY_PORT: String(viaProxy), TOXIPROXY_PORT: String(toxiproxy),
      NGINX_PORT: String(nginx), SCHEMA_REGISTRY_PORT: String(registry), WORKER_METRICS_PORT_BASE: String(metrics! - 1),
      API_PORTS: apis.join(','), WORKERS: '1', STREAM_PROCESSORS: '1',
    },
    nginx: nginx!,
    brokers: [`127.0.0.1:${kafka}`],
    ccompatUrl: `http://127.0.0.1:${registry}/apis/ccompat/v7`,
  };
}

/**
 * A temporary run folder for the real `up` and `down`: `run(file, args, extra)` runs a script with
 * the stack's environment, and after the file `down` runs and the folder is removed.
 */
export function upRunFixture(prefix: string) {
  const runDir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  let env: NodeJS.ProcessEnv = { CRM_LAB_RUN_DIR: runDir };
  const fixture = {
    runDir,
    /** Moves every port of the stack to a free one (from here on, `run` uses them). */
    async onFreePorts(): Promise<StackOnFreePorts> {
      const stack = await stackOnFreePorts(runDir);
      env = stack.env;
      return stack;
    },
    run: (file: string, args: string[] = [], extra: NodeJS.ProcessEnv = {}) =>
      runTsx(file, { args, env: { ...env, ...extra }, timeoutMs: 300_000 }),
  };
  afterAll(async () => {
    await fixture.run('infra/down.ts');
    rmSync(runDir, { recursive: true, force: true });
  });
  return fixture;
}

/** The profile row the workers wrote for `userId` (lab 02's table), once it exists. */
export function waitForProfile(runDir: string, userId: string): Promise<{ login_count: number; event_count: number }> {
  return waitFor(`a worker to apply ${userId}'s event`, () => {
    const db = new Database(join(runDir, 'profiles.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT login_count, event_count FROM profiles WHERE user_id = ?').get(userId) as { login_count: number; event_count: number } | undefined;
    } catch {
      return undefined; // no file or no tables yet: the worker has not started writing
    } finally {
      db.close();
    }
  }, { timeoutMs: 90_000, intervalMs: 500 });
}

/** Every record of `topic` whose key is `key`, as a reader with `isolation` sees it. */
export async function recordsWithKey(brokers: string[], topic: string, key: string, isolation: 'read_committed' | 'read_uncommitted' = 'read_committed'): Promise<KafkaMessage[]> {
  const found: KafkaMessage[] = [];
  await scanTopic(brokers, topic, (_, m) => {
    if (m.key?.toString() === key) found.push(m);
  }, { isolation, timeoutMs: 30_000, clientId: 'full-stack-test-reader' });
  return found;
}

/** lab 06's login count records for `userId` that a read_committed reader sees, once there is one. */
export function waitForCommittedLogins(brokers: string[], userId: string): Promise<{ user_id: string; login_count: number; event_id: string }[]> {
  return waitFor(`lab 06's login count for ${userId} in crm-user-logins (read_committed)`, async () => {
    const records = await recordsWithKey(brokers, 'crm-user-logins', userId).catch(() => []);
    return records.length > 0 ? records.map((m) => JSON.parse(m.value!.toString())) : undefined;
  }, { timeoutMs: 90_000, intervalMs: 1_000 });
}

/** The stream processor's structured log lines with this message. */
export function streamsLogLines(runDir: string, id: string, msg: string): Record<string, any>[] {
  return readFileSync(join(runDir, 'logs', `${id}.log`), 'utf8').split('\n').filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.msg === msg);
}

/** The versions the registry lists for `subject` (GET /subjects/{subject}/versions). */
export async function subjectVersions(ccompatUrl: string, subject: string): Promise<unknown> {
  return (await fetch(`${ccompatUrl}/subjects/${encodeURIComponent(subject)}/versions`)).json();
}
