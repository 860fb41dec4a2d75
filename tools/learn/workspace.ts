import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseRegions, mentionsRegions, type Region } from './regions.js';
import { skeletonOf } from './skeleton.js';
import { labDir } from './checkpoints.js';

/** Kept at the workspace's root (git-ignored): which lab, the reference commit, the hints shown. */
export const STATE_FILE = '.learn-state.json';

export interface WorkspaceState {
  lab: string;
  /** The commit the workspace was started from: its regions are the reference. */
  base: string;
  hintsShown: Record<string, number>;
}

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** Files regions may live in: the labs' and shared code, as the working tree has them (tracked or new, not ignored). */
export function sourceFiles(root: string): string[] {
  return git(root, 'ls-files', '--cached', '--others', '--exclude-standard', '--', 'labs', 'shared')
    .split('\n').filter((f) => f.endsWith('.ts') && existsSync(join(root, f)));
}

/** Every region under `root`, by file; parse errors (nested, unterminated, malformed) propagate. */
export function regionsByFile(root: string, read: (file: string) => string = (f) => readFileSync(join(root, f), 'utf8')): Map<string, Region[]> {
  const out = new Map<string, Region[]>();
  for (const file of sourceFiles(root)) {
    const text = read(file);
    if (!mentionsRegions(text)) continue;
    const regions = parseRegions(text, file);
    if (regions.length) out.set(file, regions);
  }
  return out;
}

/** Replaces `lab`'s regions by their stubs in the files under `root`; returns the files changed. */
export function applySkeleton(root: string, lab: string, candidates = sourceFiles(root), checkpoint?: string): { files: string[]; regions: number } {
  const files: string[] = [];
  let regions = 0;
  for (const file of candidates) {
    const path = join(root, file);
    const before = readFileSync(path, 'utf8');
    const after = skeletonOf(before, lab, file, checkpoint);
    if (after.regions.length === 0) continue;
    writeFileSync(path, after.text);
    files.push(file);
    regions += after.regions.length;
  }
  if (regions === 0) throw new Error(`lab ${lab} has no solution regions${checkpoint ? ` of checkpoint ${checkpoint}` : ''}`);
  return { files, regions };
}

/**
 * The workspace's dependencies are the reference's: node_modules as a symlink. Its package-lock.json,
 * freshly checked out, is dated back to before the installed one's: infra/install.sh (run by `npm test`)
 * reinstalls when the lock file is newer, and `npm ci` through the symlink would empty the
 * repository's node_modules.
 */
function linkNodeModules(root: string, workspace: string) {
  if (!existsSync(join(workspace, 'node_modules'))) symlinkSync(realpathSync(join(root, 'node_modules')), join(workspace, 'node_modules'));
  const installed = join(workspace, 'node_modules', '.package-lock.json');
  const lock = join(workspace, 'package-lock.json');
  if (existsSync(installed) && existsSync(lock)) {
    const { mtimeMs } = statSync(installed);
    const older = new Date(mtimeMs - 1_000); // a second before: no rounding makes it newer
    utimesSync(lock, older, older);
  }
}

/** A plain copy of the working tree (tracked and new files, not ignored ones) with `lab`'s regions stubbed: what CI checks. */
export function copySkeleton(root: string, lab: string, dest: string, checkpoint?: string) {
  for (const file of git(root, 'ls-files', '--cached', '--others', '--exclude-standard').split('\n')) {
    if (!file || !existsSync(join(root, file))) continue;
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    copyFileSync(join(root, file), join(dest, file));
  }
  linkNodeModules(root, dest);
  return applySkeleton(dest, lab, sourceFiles(root), checkpoint); // the copy is no git repository: the reference's list
}

export const defaultWorkspace = (root: string, lab: string) => join(root, '.learn', labDir(root, lab).slice('labs/'.length));

/**
 * `learn start`: a git worktree on a new branch `learner/NN`, from HEAD, whose first commit replaces
 * the lab's regions by stubs. The learner owns the branch: commit, diff, reset as with any other.
 */
export function startWorkspace(root: string, lab: string, dir = defaultWorkspace(root, lab)): { dir: string; branch: string; files: string[]; regions: number } {
  // Not learn/NN: a branch named `learn` (this tool's own, while it was written) would make git refuse it.
  const branch = `learner/${lab}`;
  if (existsSync(dir)) throw new Error(`${relative(root, dir) || dir} exists already: carry on there, or remove it first (git worktree remove --force ${dir} && git branch -D ${branch})`);
  const base = git(root, 'rev-parse', 'HEAD');
  if (git(root, 'status', '--porcelain', '--', 'labs', 'shared')) {
    console.warn('note: uncommitted changes under labs/ or shared/ are not in the workspace (it starts from HEAD)');
  }
  git(root, 'worktree', 'add', '-b', branch, dir, base);
  const done = applySkeleton(dir, lab);
  linkNodeModules(root, dir);
  const state: WorkspaceState = { lab, base, hintsShown: {} };
  writeFileSync(join(dir, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
  git(dir, 'add', '--', ...done.files);
  git(dir, '-c', 'user.name=crm-event-lab learn', '-c', 'user.email=learn@localhost', 'commit', '-q', '--no-verify', '-m', `learn: lab ${lab} skeleton (its solution regions replaced by stubs)`);
  return { dir, branch, ...done };
}

export function readState(workspace: string): WorkspaceState {
  return JSON.parse(readFileSync(join(workspace, STATE_FILE), 'utf8')) as WorkspaceState;
}

export function writeState(workspace: string, state: WorkspaceState) {
  writeFileSync(join(workspace, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
}

/** The reference's regions of `lab` (from the commit the workspace started at), by file. */
export function referenceRegions(workspace: string, state: WorkspaceState): Map<string, Region[]> {
  const out = new Map<string, Region[]>();
  for (const [file, regions] of regionsByFile(workspace, (f) => {
    try {
      return git(workspace, 'show', `${state.base}:${f}`);
    } catch {
      return ''; // a file the learner added
    }
  })) {
    const mine = regions.filter((r) => r.lab === state.lab);
    if (mine.length) out.set(file, mine);
  }
  return out;
}
