/**
 * What CI proves about learner mode (`.ci/run`, after the suite): for every lab with a learn.json,
 * the skeleton (a copy of the working tree with that lab's regions stubbed) type-checks, and the
 * tests of its fast checkpoints (`failsFast`) fail there, every one but those marked `guard` (which
 * pass on a stub by design): each checkpoint graded FAIL. That the same tests pass on
 * the reference is what the normal suite, run just before, shows; they are not run again.
 *
 * Usage: tsx tools/learn/ci.ts [lab…]   Prints one line per lab and a closing `[learn] …` line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { labsWithCheckpoints, loadCheckpoints } from './checkpoints.js';
import { runCheckpoints, typeCheck } from './run-checkpoints.js';
import { labNumber } from './skeleton.js';
import { copySkeleton } from './workspace.js';

const root = resolve(import.meta.dirname, '../..');
const labs = process.argv.length > 2 ? process.argv.slice(2).map(labNumber) : labsWithCheckpoints(root);
const problems: string[] = [];
const started = performance.now();
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

for (const lab of labs) {
  const dir = mkdtempSync(join(tmpdir(), `learn-ci-${lab}-`));
  try {
    let t = performance.now();
    const { checkpoints } = loadCheckpoints(root, lab);
    const skeleton = copySkeleton(root, lab, dir);
    const generated = seconds(t);
    t = performance.now();
    const compileErrors = typeCheck(dir);
    const tsc = seconds(t);
    if (compileErrors) problems.push(`lab ${lab}: the skeleton does not type-check:\n${compileErrors}`);
    const fast = checkpoints.filter((c) => c.failsFast);
    let graded = 'no fast checkpoint';
    t = performance.now();
    if (!compileErrors && fast.length) {
      const { grades } = runCheckpoints(dir, fast);
      for (const g of grades) {
        const graders = g.results.filter((r) => !r.guard);
        const passing = graders.filter((r) => r.passed).map((r) => r.title);
        if (graders.length === 0) problems.push(`lab ${lab} ${g.checkpoint}: no test that should fail on the skeleton`);
        if (passing.length) problems.push(`lab ${lab} ${g.checkpoint}: passes on the skeleton, so it grades nothing: ${passing.join('; ')}`);
      }
      graded = grades.map((g) => `${g.checkpoint} ${g.passed}/${g.total}${g.results.some((r) => r.guard) ? ' (guards pass)' : ''}`).join(', ');
    }
    const slow = checkpoints.filter((c) => !c.failsFast).map((c) => c.id);
    console.log(`[learn] lab ${lab}: ${skeleton.regions} regions in ${skeleton.files.length} files, skeleton ${generated} s, tsc ${tsc} s ${compileErrors ? 'FAILED' : 'ok'}; `
      + `on the skeleton: ${graded} (${seconds(t)} s)${slow.length ? `; not run (would only time out): ${slow.join(', ')}` : ''}`);
  } catch (error) {
    problems.push(`lab ${lab}: ${(error as Error).message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const p of problems) console.error(`[learn] ${p}`);
console.log(`[learn] ${labs.length} labs, ${problems.length} problems, ${seconds(started)} s`);
process.exitCode = problems.length ? 1 : 0;
