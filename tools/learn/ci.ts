/**
 * What CI proves about learner mode (`.ci/run`, after the suite), for every lab with a learn.json:
 * 1. the skeleton (a copy of the working tree with the lab's regions stubbed) type-checks;
 * 2. the tests of its fast checkpoints (`failsFast`) fail on it, every one but those marked `guard`
 *    (they pass on a stub by design): each checkpoint graded FAIL;
 * 3. one fast checkpoint per lab, in rotation (by UTC day), fails with ONLY its own regions
 *    stubbed: its tests grade its code, not an earlier checkpoint's that it builds on.
 * That the same tests pass on the reference is the normal suite's, run just before; not rerun.
 * 4. every graded exercise (`labs/*\/exercises/*.exercise.test.ts`, which the suite does not run)
 *    fails on the reference as shipped, with the failure its opening comment states: one that began
 *    to pass would grade nothing, and one failing otherwise (a broken import, a broker that did not
 *    start) never reaches its pass condition. One vitest run for all of them, two files at a time
 *    (they mostly wait: two wait out a 30 s deadline): 116–126 s on the lab machine, 186 s one at a time
 *    (CRM_LAB_SKIP_EXERCISES=1 skips it).
 *
 * Usage: tsx tools/learn/ci.ts [--isolate-all] [lab…]
 *   --isolate-all: step 3 for every fast checkpoint (slower; for changing regions or learn.json).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { labsWithCheckpoints, loadCheckpoints, type Checkpoint } from './checkpoints.js';
import { listExercises, referenceFailureProblem, runExercises } from './exercises.js';
import type { Grade } from './grade.js';
import { runCheckpoints, typeCheck } from './run-checkpoints.js';
import { labNumber } from './skeleton.js';
import { copySkeleton } from './workspace.js';

const root = resolve(import.meta.dirname, '../..');
const args = process.argv.slice(2);
const isolateAll = args.includes('--isolate-all');
const named = args.filter((a) => !a.startsWith('--')).map(labNumber);
const labs = named.length ? named : labsWithCheckpoints(root);
const rotation = Math.floor(Date.now() / 86_400_000);
const problems: string[] = [];
const started = performance.now();
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

/** Problems of checkpoints that should be graded FAIL: a non-guard test passing means it grades nothing. */
function notFailing(lab: string, grades: Grade[], when: string): string[] {
  return grades.flatMap((g) => {
    const graders = g.results.filter((r) => !r.guard);
    const passing = graders.filter((r) => r.passed).map((r) => r.title);
    if (graders.length === 0) return [`lab ${lab} ${g.checkpoint}: no test that should fail ${when}`];
    return passing.length ? [`lab ${lab} ${g.checkpoint}: passes ${when}, so it grades nothing: ${passing.join('; ')}`] : [];
  });
}

/** A fresh copy with the lab's regions (or one checkpoint's) stubbed, removed after `use`. */
function withSkeleton<T>(lab: string, checkpoint: string | undefined, use: (dir: string, regions: number, files: number) => T): T {
  const dir = mkdtempSync(join(tmpdir(), `learn-ci-${lab}-`));
  try {
    const { regions, files } = copySkeleton(root, lab, dir, checkpoint);
    return use(dir, regions, files.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const lab of labs) {
  try {
    const { checkpoints } = loadCheckpoints(root, lab);
    const fast = checkpoints.filter((c) => c.failsFast);
    let t = performance.now();
    const line = withSkeleton(lab, undefined, (dir, regions, files) => {
      const generated = seconds(t);
      t = performance.now();
      const compileErrors = typeCheck(dir);
      const tsc = seconds(t);
      if (compileErrors) problems.push(`lab ${lab}: the skeleton does not type-check:\n${compileErrors}`);
      let graded = 'no fast checkpoint';
      t = performance.now();
      if (!compileErrors && fast.length) {
        const { grades } = runCheckpoints(dir, fast);
        problems.push(...notFailing(lab, grades, 'on the skeleton'));
        graded = grades.map((g) => `${g.checkpoint} ${g.passed}/${g.total}`).join(', ');
      }
      return `${regions} regions in ${files} files, skeleton ${generated} s, tsc ${tsc} s ${compileErrors ? 'FAILED' : 'ok'}; on the skeleton: ${graded} (${seconds(t)} s)`;
    });
    const slow = checkpoints.filter((c) => !c.failsFast).map((c) => c.id);
    console.log(`[learn] lab ${lab}: ${line}${slow.length ? `; not run (would only time out): ${slow.join(', ')}` : ''}`);

    // Alone: with a single fast checkpoint, step 2 already stubbed only it (plus slow ones whose tests do not run).
    const isolate: Checkpoint[] = fast.length < 2 ? [] : isolateAll ? fast : [fast[rotation % fast.length]!];
    for (const c of isolate) {
      t = performance.now();
      const grades = withSkeleton(lab, c.id, (dir) => runCheckpoints(dir, [c]).grades);
      problems.push(...notFailing(lab, grades, `with only its own regions stubbed`));
      console.log(`[learn] lab ${lab}: ${c.id} alone stubbed: ${grades[0]!.passed}/${grades[0]!.total} (${seconds(t)} s)`);
    }
  } catch (error) {
    problems.push(`lab ${lab}: ${(error as Error).message}`);
  }
}

// Step 4: the graded exercises fail on the reference, each as it says.
const exercises = labs.flatMap((lab) => listExercises(root, lab));
if (process.env.CRM_LAB_SKIP_EXERCISES === '1') {
  console.log('[learn] graded exercises on the reference: skipped (CRM_LAB_SKIP_EXERCISES=1)');
} else if (exercises.length) {
  const t = performance.now();
  try {
    const results = runExercises(root, exercises, 2);
    for (const e of exercises) {
      const r = results.get(e.file)!;
      const problem = referenceFailureProblem(e, r);
      if (problem) problems.push(problem);
      console.log(`[learn] lab ${e.lab} exercise ${e.number} on the reference: ${r.passed ? 'PASS' : 'FAIL'} ${r.passedTests}/${r.total}`
        + `${r.firstFailure ? ` (${r.firstFailure.reason.slice(0, 160)})` : ''}${problem ? ' — PROBLEM' : ', as it states'}`);
    }
  } catch (error) {
    problems.push(`graded exercises: ${(error as Error).message}`);
  }
  console.log(`[learn] ${exercises.length} graded exercises on the reference (${seconds(t)} s)`);
}

for (const p of problems) console.error(`[learn] ${p}`);
console.log(`[learn] ${labs.length} labs, ${problems.length} problems, ${seconds(started)} s`);
process.exitCode = problems.length ? 1 : 0;
