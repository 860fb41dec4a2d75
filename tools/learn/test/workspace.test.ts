import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copySkeleton, readState, referenceRegions, startWorkspace } from '../workspace.js';

const region = (lab: string, id: string, code: string) =>
  [`  // #region solution ${lab}:${id} — Task ${id}`, `  // hint: ${id} hint`, `  ${code}`, '  // #endregion solution'].join('\n');
const source = (lab: string, id: string) => `export function f(): number {\n${region(lab, id, 'return 1;')}\n}\n`;

/** A tiny repository: lab 01 and lab 02 with a region each, a committed node_modules-less tree. */
function tinyRepo(): string {
  const root = mkdtempSync(join(tmpdir(), 'learn-ws-test-'));
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', ...args], { cwd: root, stdio: 'pipe' });
  mkdirSync(join(root, 'labs/01-one/src'), { recursive: true });
  mkdirSync(join(root, 'labs/02-two/src'), { recursive: true });
  mkdirSync(join(root, 'node_modules'));
  writeFileSync(join(root, 'node_modules/.package-lock.json'), '{}');
  writeFileSync(join(root, 'package-lock.json'), '{}');
  // `node_modules`, not `node_modules/`: the workspace's is a symlink, which a trailing slash does not match.
  writeFileSync(join(root, '.gitignore'), 'node_modules\n.learn/\n.learn-state.json\n');
  writeFileSync(join(root, 'labs/01-one/src/a.ts'), source('01', 'first'));
  writeFileSync(join(root, 'labs/02-two/src/b.ts'), source('02', 'second'));
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'reference');
  return root;
}

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

describe('workspaces', () => {
  it('start: a worktree on branch learner/NN whose first commit stubs only that lab, with node_modules linked and the reference remembered', () => {
    const root = tinyRepo();
    roots.push(root);
    const ws = startWorkspace(root, '01', join(root, '.learn/01-one'));
    expect(ws).toMatchObject({ branch: 'learner/01', files: ['labs/01-one/src/a.ts'], regions: 1 });
    expect(readFileSync(join(ws.dir, 'labs/01-one/src/a.ts'), 'utf8')).toContain('throw new Error("TODO(lab 01): Task first");');
    expect(readFileSync(join(ws.dir, 'labs/02-two/src/b.ts'), 'utf8')).toBe(source('02', 'second'));
    expect(lstatSync(join(ws.dir, 'node_modules')).isSymbolicLink()).toBe(true);
    // infra/install.sh reinstalls (npm ci, through the symlink) only when the lock file is newer than the install.
    expect(statSync(join(ws.dir, 'package-lock.json')).mtimeMs).toBeLessThan(statSync(join(root, 'node_modules/.package-lock.json')).mtimeMs);
    const log = execFileSync('git', ['log', '--format=%s', 'learner/01'], { cwd: root, encoding: 'utf8' }).trim().split('\n');
    expect(log).toEqual(['learn: lab 01 skeleton (its solution regions replaced by stubs)', 'reference']);
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: ws.dir, encoding: 'utf8' })).toBe(''); // state file ignored
    const state = readState(ws.dir);
    expect([...referenceRegions(ws.dir, state).values()].flat().map((r) => r.hints)).toEqual([['first hint']]);
    expect(() => startWorkspace(root, '01', ws.dir)).toThrow('exists already');
  });

  it('copy (CI): the working tree copied, one checkpoint stubbed on request, and a lab without regions refused', () => {
    const root = tinyRepo();
    roots.push(root);
    const dest = join(root, '..', `${root.split('/').pop()}-copy`);
    roots.push(dest);
    expect(copySkeleton(root, '02', dest, 'second')).toEqual({ files: ['labs/02-two/src/b.ts'], regions: 1 });
    expect(readFileSync(join(dest, 'labs/01-one/src/a.ts'), 'utf8')).toBe(source('01', 'first'));
    expect(existsSync(join(dest, 'node_modules'))).toBe(true);
    expect(() => copySkeleton(root, '03', `${dest}-3`)).toThrow('lab 03 has no solution regions');
    roots.push(`${dest}-3`);
  });
});
