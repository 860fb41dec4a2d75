import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/** One test a checkpoint is graded by: a test file and a piece of the test's full title. */
export interface CheckpointTest {
  file: string;
  title: string;
  /**
   * A guard: it passes on the stub too, and fails a solution that reports too much (a false
   * positive). Graded like the others; CI does not expect it to fail on the skeleton.
   */
  guard?: boolean;
}

export interface Checkpoint {
  id: string;
  tests: CheckpointTest[];
  /**
   * Its tests fail within seconds on the skeleton (no wait for a condition that never comes), so CI
   * runs them there to prove the checkpoint is graded 0. The others would only time out.
   */
  failsFast?: boolean;
  /**
   * 'native': its tests run only on the native runtime (lab 07's secure broker is a local process,
   * with no image), and skip on containers. The grader runs them with LAB_RUNTIME=native whatever
   * LAB_RUNTIME says, so the checkpoint can pass on a machine that uses containers for the rest.
   */
  runtime?: 'native';
}

/** `labs/NN-name/learn.json`: a lab's checkpoints, in the order its README teaches them. */
export interface LabCheckpoints {
  lab: string;
  dir: string;
  checkpoints: Checkpoint[];
}

/** The lab folder (`labs/01-ingest`) of a lab number. */
export function labDir(root: string, lab: string): string {
  const name = readdirSync(join(root, 'labs')).find((d) => d.startsWith(`${lab}-`));
  if (!name) throw new Error(`no lab ${lab} under ${join(root, 'labs')}`);
  return join('labs', name);
}

export function loadCheckpoints(root: string, lab: string): LabCheckpoints {
  const dir = labDir(root, lab);
  const file = join(root, dir, 'learn.json');
  if (!existsSync(file)) throw new Error(`lab ${lab} has no learner mode yet (${join(dir, 'learn.json')} is missing)`);
  const data = JSON.parse(readFileSync(file, 'utf8')) as { checkpoints?: Checkpoint[] };
  if (!Array.isArray(data.checkpoints) || data.checkpoints.length === 0) throw new Error(`${join(dir, 'learn.json')}: no checkpoints`);
  for (const c of data.checkpoints) {
    if (!c.id || !Array.isArray(c.tests) || c.tests.length === 0) throw new Error(`${join(dir, 'learn.json')}: checkpoint ${c.id ?? '?'} names no tests`);
  }
  return { lab, dir, checkpoints: data.checkpoints };
}

/** Labs that have a learn.json, by number. */
export function labsWithCheckpoints(root: string): string[] {
  return readdirSync(join(root, 'labs'))
    .filter((d) => /^\d\d-/.test(d) && existsSync(join(root, 'labs', d, 'learn.json')))
    .map((d) => d.slice(0, 2))
    .sort();
}

/** The `-t` pattern selecting exactly the checkpoints' tests (vitest matches it against full titles). */
export function titlePattern(checkpoints: Checkpoint[]): string {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return [...new Set(checkpoints.flatMap((c) => c.tests.map((t) => escape(t.title))))].join('|');
}
