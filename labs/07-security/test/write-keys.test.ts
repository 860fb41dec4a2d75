/** Write keys at rest and in the CLI: random, stored only as hashes, revocable, every change audited. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../infra/paths.js';
import { readAudit, verifyAuditLog } from '../../../shared/audit.js';
import { WriteKeyStore } from '../src/write-keys.js';

const exec = promisify(execFile);
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'crm-write-keys-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Every byte the store left on disk (the database and its WAL), as latin1 text. */
const storeBytes = () => readdirSync(dir).filter((f) => f.startsWith('keys.db')).map((f) => readFileSync(join(dir, f)).toString('latin1')).join('');

describe('WriteKeyStore', () => {
  it('makes random 32-byte keys, keeps only their SHA-256, and names the customer of a live key', () => {
    const store = new WriteKeyStore(join(dir, 'keys.db'));
    const a = store.create('acme');
    const b = store.create('acme');
    expect(a.writeKey).toMatch(/^crm_wk_[A-Za-z0-9_-]{43}$/);
    expect(a.writeKey).not.toBe(b.writeKey);
    expect(store.customerOf(a.writeKey)).toBe('acme');
    expect(store.customerOf(`${a.writeKey}x`)).toBeUndefined();
    expect(store.customerOf('crm_wk_')).toBeUndefined();
    store.close();
    const onDisk = storeBytes();
    expect(onDisk).not.toContain(a.writeKey.slice('crm_wk_'.length));
    expect(onDisk).not.toContain(b.writeKey.slice('crm_wk_'.length));
  });

  it('stops naming the customer of a revoked key, also for a reader that opened the store before', () => {
    const writer = new WriteKeyStore(join(dir, 'keys.db'));
    const reader = new WriteKeyStore(join(dir, 'keys.db')); // as a replica holds it open
    const { keyId, writeKey } = writer.create('globex');
    expect(reader.customerOf(writeKey)).toBe('globex');
    expect(writer.revoke(keyId)).toBe(true);
    expect(reader.customerOf(writeKey)).toBeUndefined();
    expect(writer.revoke(keyId)).toBe(false);
    expect(writer.list()).toEqual([expect.objectContaining({ key_id: keyId, customer_id: 'globex', revoked_at: expect.any(String) })]);
    writer.close();
    reader.close();
  });

  it('refuses a customer id that is not a plain identifier', () => {
    const store = new WriteKeyStore(join(dir, 'keys.db'));
    expect(() => store.create('acme corp')).toThrow(/customer id "acme corp"/);
    expect(() => store.create('')).toThrow(/customer id/);
    store.close();
  });
});

describe('npm run keys', () => {
  const keys = (...args: string[]) => exec(join(repoRoot, 'node_modules', '.bin', 'tsx'), [join(repoRoot, 'labs/07-security/src/keys-cli.ts'), ...args],
    { env: { ...process.env, WRITE_KEYS_DB: join(dir, 'keys.db'), AUDIT_LOG: join(dir, 'audit.log'), AUDIT_ACTOR: 'test-operator' } });

  it('prints a new key once, lists keys without them, revokes, and audits create and revoke in the hash-chained log', async () => {
    const created = await keys('create', 'acme');
    const writeKey = /write key: (crm_wk_\S+)/.exec(created.stdout)?.[1];
    const keyId = /key_id: (wk_[0-9a-f]+)/.exec(created.stdout)?.[1];
    expect(writeKey).toBeDefined();
    const listed = await keys('list');
    expect(listed.stdout).toMatch(new RegExp(`^${keyId}\\tacme\\tcreated \\S+\\tactive$`, 'm'));
    expect(listed.stdout).not.toContain(writeKey!.slice(7));
    expect((await keys('revoke', keyId!)).stdout).toContain(`revoked ${keyId}`);
    expect((await keys('list')).stdout).toMatch(new RegExp(`^${keyId}\\tacme\\tcreated \\S+\\trevoked \\S+$`, 'm'));
    await expect(keys('revoke', keyId!)).rejects.toMatchObject({ code: 1, stdout: expect.stringContaining(`no active key ${keyId}`) });

    const audit = readAudit(join(dir, 'audit.log'));
    expect(audit.map((e) => [e.actor, e.action, e.target, e.details])).toEqual([
      ['test-operator', 'keys.create', keyId, { customer_id: 'acme' }],
      ['test-operator', 'keys.revoke', keyId, undefined],
    ]);
    expect(readFileSync(join(dir, 'audit.log'), 'utf8')).not.toContain(writeKey!.slice(7));
    expect(verifyAuditLog(join(dir, 'audit.log'))).toEqual([]);
  });

  it('shows its usage for an unknown command', async () => {
    await expect(keys('rotate')).rejects.toMatchObject({ code: 2, stdout: expect.stringContaining('usage: npm run keys -- create <customer> | list | revoke <key_id>') });
  });
});
