/**
 * Learner mode: `npm run learn -- <command>`.
 *
 *   start <lab>               a workspace (git worktree on branch learner/NN, in .learn/NN-name) with the lab's solution regions stubbed
 *   check <lab>               runs the lab's checkpoint tests in the workspace, one grade per checkpoint
 *   hint <lab> <checkpoint>   the next hint of a checkpoint (the workspace remembers which were shown)
 *   diff <lab>                your regions against the reference's
 *   exercise <lab> [<n>]      the lab's graded README exercises, or runs exercise n's grading test (PASS/FAIL)
 *
 * Run it from the repository or from inside the workspace. See tools/learn/README.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadCheckpoints } from './checkpoints.js';
import { formatExerciseList, formatExerciseResult, listExercises, runExercise } from './exercises.js';
import { formatGrades } from './grade.js';
import type { Region } from './regions.js';
import { runCheckpoints, typeCheck } from './run-checkpoints.js';
import { labNumber } from './skeleton.js';
import {
  STATE_FILE, defaultWorkspace, readState, referenceRegions, regionsByFile, startWorkspace, writeState,
} from './workspace.js';

const usage = 'usage: npm run learn -- start <lab> | check <lab> | hint <lab> <checkpoint> | diff <lab> | exercise <lab> [<n>]   (lab: 01 or 01-ingest)';

const toplevel = () => execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();

/** The workspace of `lab`: the current one when run inside a workspace, else the default one of this repository. */
function workspaceOf(lab: string): string {
  const here = toplevel();
  if (existsSync(join(here, STATE_FILE))) {
    const state = readState(here);
    if (state.lab !== lab) throw new Error(`this workspace is lab ${state.lab}'s, not lab ${lab}'s`);
    return here;
  }
  const dir = defaultWorkspace(here, lab);
  if (!existsSync(join(dir, STATE_FILE))) throw new Error(`no workspace for lab ${lab} at ${relative(process.cwd(), dir)}: run \`npm run learn -- start ${lab}\` first`);
  return dir;
}

/** The reference's hints of a checkpoint, in file order (a checkpoint may span several regions). */
function hintsOf(regions: Map<string, Region[]>, checkpoint: string): string[] {
  return [...regions.values()].flat().filter((r) => r.checkpoint === checkpoint).flatMap((r) => r.hints);
}

function start(lab: string) {
  const here = toplevel();
  if (existsSync(join(here, STATE_FILE))) throw new Error('this is a learner workspace already; run start from the repository');
  const checkpoints = loadCheckpoints(here, lab);
  const ws = startWorkspace(here, lab);
  const rel = relative(process.cwd(), ws.dir);
  console.log(`lab ${lab}: workspace ${rel} on branch ${ws.branch}, ${ws.regions} solution regions stubbed in:`);
  for (const f of ws.files) console.log(`  ${f}`);
  console.log(`checkpoints, in the README's order: ${checkpoints.checkpoints.map((c) => c.id).join(', ')}`);
  console.log(`next: cd ${rel}, write the code between each \`// #region solution ${lab}:…\` and \`// #endregion solution\`, then \`npm run learn -- check ${lab}\``);
}

function check(lab: string) {
  const dir = workspaceOf(lab);
  const { checkpoints } = loadCheckpoints(dir, lab);
  const hints = referenceRegions(dir, readState(dir));
  const firstHint = (c: string) => hintsOf(hints, c)[0];
  const compileErrors = typeCheck(dir);
  if (compileErrors) {
    console.log(`${compileErrors}\n\nlab ${lab}: the workspace does not compile (tsc --noEmit, above); every checkpoint is graded FAIL until it does`);
    process.exitCode = 1;
    return;
  }
  const tests = checkpoints.reduce((n, c) => n + c.tests.length, 0);
  console.log(`lab ${lab}: running ${tests} checkpoint tests with vitest (the suite's setup: a real broker and Toxiproxy; the tests start what else they need)…`);
  const { grades } = runCheckpoints(dir, checkpoints);
  console.log(formatGrades(lab, grades, firstHint));
  if (grades.some((g) => g.passed < g.total)) process.exitCode = 1;
}

function hint(lab: string, checkpoint: string | undefined) {
  const dir = workspaceOf(lab);
  const state = readState(dir);
  const { checkpoints } = loadCheckpoints(dir, lab);
  if (!checkpoint || !checkpoints.some((c) => c.id === checkpoint)) {
    throw new Error(`name a checkpoint of lab ${lab}: ${checkpoints.map((c) => c.id).join(', ')}`);
  }
  const hints = hintsOf(referenceRegions(dir, state), checkpoint);
  const shown = state.hintsShown[checkpoint] ?? 0;
  if (shown >= hints.length) {
    console.log(`${lab} ${checkpoint}: all ${hints.length} hints shown; \`npm run learn -- diff ${lab}\` shows the reference`);
    return;
  }
  console.log(`${lab} ${checkpoint} hint ${shown + 1} of ${hints.length}: ${hints[shown]}`);
  writeState(dir, { ...state, hintsShown: { ...state.hintsShown, [checkpoint]: shown + 1 } });
}

/** A unified diff of two texts (git's, without its header lines). */
function unifiedDiff(reference: string, yours: string): string {
  const tmp = mkdtempSync(join(tmpdir(), 'learn-diff-'));
  try {
    writeFileSync(join(tmp, 'reference'), reference + '\n');
    writeFileSync(join(tmp, 'yours'), yours + '\n');
    const r = spawnSync('git', ['diff', '--no-index', '--no-color', '-U1000', 'reference', 'yours'], { cwd: tmp, encoding: 'utf8' });
    return r.stdout.split('\n').filter((l) => !/^(diff --git|index |--- |\+\+\+ |@@ )/.test(l)).join('\n').trimEnd();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function diff(lab: string) {
  const dir = workspaceOf(lab);
  const order = loadCheckpoints(dir, lab).checkpoints.map((c) => c.id);
  const mine = regionsByFile(dir);
  // Each reference region with the learner's region at the same place (the n-th of its checkpoint in its file), in the README's order.
  const pairs = [...referenceRegions(dir, readState(dir))].flatMap(([file, refs]) => refs.map((ref) => {
    const nth = refs.filter((r) => r.checkpoint === ref.checkpoint).indexOf(ref);
    const own = (mine.get(file) ?? []).filter((r) => r.lab === lab && r.checkpoint === ref.checkpoint)[nth];
    return { file, ref, own };
  }));
  pairs.sort((a, b) => order.indexOf(a.ref.checkpoint) - order.indexOf(b.ref.checkpoint));
  for (const { file, ref, own } of pairs) {
    console.log(`=== ${lab} ${ref.checkpoint}  ${file}:${(own ?? ref).openLine + 1}  (- reference, + yours)`);
    const text = own ? unifiedDiff(ref.body.join('\n'), own.body.join('\n')) : '(your file no longer has this region)';
    console.log(text.trim() ? text : '(identical)');
    console.log('');
  }
}

/** Lists the lab's graded exercises, or runs one: in the repository or the workspace this is run from. */
function exercise(lab: string, number: string | undefined) {
  const here = toplevel();
  const exercises = listExercises(here, lab);
  if (number === undefined) {
    console.log(formatExerciseList(lab, exercises));
    return;
  }
  const chosen = exercises.find((e) => e.number === Number(number));
  if (!chosen) throw new Error(`lab ${lab} has no graded exercise ${number}: ${exercises.map((e) => e.number).join(', ') || 'none'}`);
  console.log(`lab ${lab} exercise ${chosen.number}: ${chosen.file} with vitest (the suite's setup: a real broker and Toxiproxy; the test starts what else it needs)…`);
  const result = runExercise(here, chosen);
  console.log(formatExerciseResult(chosen, result));
  if (!result.passed) process.exitCode = 1;
}

function main(argv: string[]) {
  const [command, labArg, ...rest] = argv;
  if (!command || !labArg || !['start', 'check', 'hint', 'diff', 'exercise'].includes(command)) throw new Error(usage);
  const lab = labNumber(labArg);
  if (command === 'start') start(lab);
  if (command === 'check') check(lab);
  if (command === 'hint') hint(lab, rest[0]);
  if (command === 'diff') diff(lab);
  if (command === 'exercise') exercise(lab, rest[0]);
}

// `learn diff 01 | head` closes the pipe early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

try {
  main(process.argv.slice(2));
} catch (error) {
  console.error(`learn: ${(error as Error).message}`);
  process.exitCode = 2;
}
