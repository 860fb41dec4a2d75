import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../infra/paths.js';
import { registerLabSchemas, restartRegistry, startRegistry, type SchemaRegistryServer } from '../../../infra/registry.js';
import { LEVELS, schemaChanges } from '../src/compatibility-changes.js';
import { registerSchemas } from '../src/schema-registry.js';
import { COMPATIBILITY_LEVEL, schemaText, subjectOf } from '../src/schemas.js';

let registry: SchemaRegistryServer;
const topic = 'crm-events';
const subject = subjectOf(topic);

const api = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(`${registry.ccompatUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
};
const register = (s: string, schema: unknown) => api('POST', `/subjects/${encodeURIComponent(s)}/versions`, { schema: JSON.stringify(schema) });

beforeAll(async () => {
  registry = await startRegistry();
});

afterAll(async () => {
  await registry?.process.stop();
});

describe('the registry as npm run up leaves it', () => {
  it(`registerSchemas sets ${COMPATIBILITY_LEVEL} and registers v1 then v2, and running it again changes nothing`, async () => {
    const ids = await registerSchemas(registry.ccompatUrl, topic);
    expect(ids[1]).not.toBe(ids[2]);
    expect(await registerSchemas(registry.ccompatUrl, topic)).toEqual(ids);
    expect((await api('GET', `/subjects/${subject}/versions`)).body).toEqual([1, 2]);
    expect((await api('GET', `/config/${subject}`)).body).toEqual({ compatibilityLevel: COMPATIBILITY_LEVEL });
    // The id in a record's header gets the schema back, as a consumer asks for it.
    expect(JSON.parse((await api('GET', `/schemas/ids/${ids[2]}`)).body.schema)).toEqual(JSON.parse(schemaText(2)));
  });

  // A loop rather than it.each, so the README's citation of this title can be checked (docs-check.ts).
  const incompatible: [string, (f: any) => any][] = [
    ['user_id string → int', (f) => (f.name === 'user_id' ? { ...f, type: 'int' } : f)],
    ['event_type removed', (f) => (f.name === 'event_type' ? null : f)],
  ];
  for (const [name, change] of incompatible) {
    it(`an incompatible v3 (${name}) is refused with 409 and the subject keeps its two versions`, async () => {
      const v2 = JSON.parse(schemaText(2));
      const v3 = { ...v2, fields: v2.fields.map(change).filter(Boolean) };
      const refused = await register(subject, v3);
      expect(refused.status).toBe(409);
      expect(refused.body.message).toMatch(/incompatible/i);
      expect((await api('GET', `/subjects/${subject}/versions`)).body).toEqual([1, 2]);
    });
  }

  it('what up runs (registerLabSchemas, the schemas CLI) registers the same; `npm run schemas -- list` prints the README\'s listing', async () => {
    const topic2 = 'crm-events-cli';
    expect(await registerLabSchemas(registry.ccompatUrl, topic2)).toMatch(/^crm-events-cli-value: v1 = schema id \d+, v2 = schema id \d+$/);
    const { stdout } = await promisify(execFile)('npm', ['run', '-s', 'schemas', '--', 'list'], {
      cwd: repoRoot, env: { ...process.env, SCHEMA_REGISTRY_URL: registry.ccompatUrl, KAFKA_TOPIC: topic2 },
    });
    const fields = 'event_id, user_id, event_type, properties, timestamp, server_timestamp, client_ip, request_id';
    expect(stdout.replace(/schema id \d+/g, 'schema id N').trim().split('\n')).toEqual([
      'crm-events-cli-value: compatibility FULL_TRANSITIVE',
      `  version 1  schema id N  fields: ${fields}`,
      `  version 2  schema id N  fields: ${fields}, device`,
    ]);
  });

  it('binds 127.0.0.1 only: every socket the registry listens on is loopback', () => {
    const inodes = new Set(readdirSync(`/proc/${registry.process.pid}/fd`).flatMap((fd) => {
      try {
        const link = readlinkSync(`/proc/${registry.process.pid}/fd/${fd}`);
        return /^socket:\[(\d+)\]$/.exec(link)?.[1] ?? [];
      } catch {
        return [];
      }
    }));
    // /proc/net/tcp6 rows: local address (hex), state 0A = LISTEN, inode in column 10.
    const listening = ['tcp', 'tcp6'].flatMap((file) => readFileSync(`/proc/net/${file}`, 'utf8').split('\n').slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols[3] === '0A' && inodes.has(cols[9]!))
      .map((cols) => cols[1]!));
    expect(listening.length).toBeGreaterThan(0);
    // 127.0.0.1 as IPv4 (0100007F) or IPv4-mapped IPv6 (0000000000000000FFFF00000100007F).
    for (const address of listening) expect(address).toMatch(/^(0100007F|0000000000000000FFFF00000100007F):/);
  });

  it('keeps subjects, versions and the compatibility level across a restart (H2 file, not memory)', async () => {
    const before = await api('GET', `/subjects/${subject}/versions/2`);
    await registry.process.stop();
    registry = await restartRegistry(registry);
    expect((await api('GET', `/subjects/${subject}/versions`)).body).toEqual([1, 2]);
    expect((await api('GET', `/subjects/${subject}/versions/2`)).body).toEqual(before.body);
    expect((await api('GET', `/config/${subject}`)).body).toEqual({ compatibilityLevel: COMPATIBILITY_LEVEL });
  });
});

describe('what each compatibility level accepts (the README table)', () => {
  for (const row of schemaChanges) {
    it(`${row.change}: accepted under ${LEVELS.filter((l) => row.accepted[l]).join(', ')}`, async () => {
      const answers: Record<string, boolean> = {};
      for (const level of LEVELS) {
        const s = `matrix-${schemaChanges.indexOf(row)}-${level}`;
        for (const step of row.history) expect((await register(s, step)).status).toBe(200);
        // After the history: Apicurio stores NONE as "no rule", which it refuses for a subject that does not exist yet.
        const configured = await api('PUT', `/config/${s}`, { compatibility: level });
        expect(configured.status, JSON.stringify(configured.body)).toBe(200);
        const { status } = await register(s, row.candidate);
        expect([200, 409]).toContain(status);
        answers[level] = status === 200;
      }
      expect(answers).toEqual(row.accepted);
    });
  }

  it('the README shows this table, row for row', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    for (const row of schemaChanges) {
      const line = readme.split('\n').find((l) => l.startsWith(`| ${row.change} |`));
      expect(line, row.change).toBeDefined();
      const cells = line!.split('|').slice(2, 2 + LEVELS.length).map((c) => c.trim());
      expect(cells).toEqual(LEVELS.map((l) => (row.accepted[l] ? '✓' : '✗')));
    }
  });
});
