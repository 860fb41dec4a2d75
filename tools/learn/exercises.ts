import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { labDir } from './checkpoints.js';
import type { VitestReport } from './grade.js';

/** The config that runs `*.exercise.test.ts` (the suite's does not include them). */
export const EXERCISES_CONFIG = 'vitest.exercises.config.ts';

/** A README exercise with a grading test: `labs/NN-name/exercises/<n>-<slug>.exercise.test.ts`. */
export interface GradedExercise {
  lab: string;
  /** Its number in the README's Exercises list. */
  number: number;
  /** The exercise's name, from the test's `describe('lab NN exercise n: <name>')`. */
  name: string;
  /** The pass condition: the test's own title. */
  passCondition: string;
  /** Relative to the repository root. */
  file: string;
  /** The failure it shows on the reference (its opening comment's "Fails on the reference with: `…`"), which CI checks. */
  failsOnReferenceWith?: string;
}

const firstString = (source: string, call: string) =>
  new RegExp(`\\b${call}\\((['"\`])((?:\\\\.|(?!\\1).)*)\\1`).exec(source)?.[2]?.replace(/\\(['"`])/g, '$1');

/** The lab's graded exercises, by number. */
export function listExercises(root: string, lab: string): GradedExercise[] {
  const dir = join(labDir(root, lab), 'exercises');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.exercise.test.ts')).map((f) => {
    const number = /^(\d+)-/.exec(f)?.[1];
    if (!number) throw new Error(`${relative(root, join(dir, f))}: name it <n>-<slug>.exercise.test.ts, n the exercise's number in the README`);
    const source = readFileSync(join(dir, f), 'utf8');
    const described = firstString(source, 'describe') ?? '';
    const failsWith = /Fails on the reference with: `([^`]+)`/.exec(source)?.[1];
    return {
      lab, number: Number(number), file: relative(root, join(dir, f)),
      name: described.replace(/^lab \d\d exercise \d+: /, ''), passCondition: firstString(source, 'it') ?? '(no test found)',
      ...(failsWith ? { failsOnReferenceWith: failsWith } : {}),
    };
  }).sort((a, b) => a.number - b.number);
}

export interface ExerciseResult {
  passed: boolean;
  /** Tests that ran, and that passed. */
  total: number;
  passedTests: number;
  /** The first test that did not pass, and the first line of why. */
  firstFailure?: { test: string; reason: string };
}

const firstLine = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '').split('\n').find((l) => l.trim())?.trim() ?? '';

/** Reads vitest's JSON report of one exercise file: passed when at least one test ran and every one passed. */
export function judgeExerciseReport(report: VitestReport): ExerciseResult {
  const tests = report.testResults.flatMap((r) => r.assertionResults);
  const failed = tests.find((t) => t.status !== 'passed');
  const broken = report.testResults.find((r) => r.message && r.assertionResults.every((t) => t.status !== 'failed'));
  const firstFailure = failed ? { test: failed.title, reason: firstLine(failed.failureMessages?.[0] ?? failed.status) }
    : broken ? { test: '(the file)', reason: firstLine(broken.message!) }
      : tests.length === 0 ? { test: '(the file)', reason: 'no test ran' } : undefined;
  return { passed: !firstFailure, total: tests.length, passedTests: tests.filter((t) => t.status === 'passed').length, ...(firstFailure ? { firstFailure } : {}) };
}

/** Runs one exercise's test with vitest (the suite's setup: a real broker and Toxiproxy) in `root`. */
export function runExercise(root: string, exercise: GradedExercise): ExerciseResult {
  return runExercises(root, [exercise]).get(exercise.file)!;
}

/**
 * Runs several exercises' tests in one vitest run (one broker and Toxiproxy for all), and judges each
 * file on its own. Files run one after another as in the suite, or `workers` at a time: most of an
 * exercise's time on the reference is waiting (for a 30 s deadline, a consumer group), not CPU.
 */
export function runExercises(root: string, exercises: GradedExercise[], workers = 1): Map<string, ExerciseResult> {
  const dir = mkdtempSync(join(tmpdir(), 'learn-exercise-'));
  const reportFile = join(dir, 'vitest.json');
  try {
    const r = spawnSync('npx', ['vitest', 'run', '--config', EXERCISES_CONFIG, ...exercises.map((e) => e.file),
      ...(workers > 1 ? ['--fileParallelism', `--maxWorkers=${workers}`] : []), '--reporter=json', `--outputFile=${reportFile}`],
      { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (!existsSync(reportFile)) throw new Error(`vitest wrote no report (exit ${r.status}); its output:\n${`${r.stdout}${r.stderr}`.slice(-4000)}`);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as VitestReport;
    return new Map(exercises.map((e) => [e.file, judgeExerciseReport({ testResults: report.testResults.filter((t) => t.name.endsWith(`/${e.file}`)) })]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What is wrong with an exercise's result on the reference: it passed (then it grades nothing, or
 * the reference already does the exercise), or it failed for another reason than the one it states
 * (the broker did not start, a renamed import): then its pass condition was never reached.
 */
export function referenceFailureProblem(e: GradedExercise, r: ExerciseResult): string | undefined {
  const which = `lab ${e.lab} exercise ${e.number} (${e.file})`;
  if (!e.failsOnReferenceWith) return `${which}: its opening comment does not say how it fails on the reference ("Fails on the reference with: \`…\`")`;
  if (r.passed) return `${which}: passes on the reference, so it grades nothing`;
  if (!r.firstFailure?.reason.includes(e.failsOnReferenceWith)) {
    return `${which}: fails on the reference, but not with \`${e.failsOnReferenceWith}\`: ${r.firstFailure?.test}: ${r.firstFailure?.reason}`;
  }
  return undefined;
}

/** `lab 01: 1 graded exercise` and one entry per exercise. */
export function formatExerciseList(lab: string, exercises: GradedExercise[]): string {
  if (exercises.length === 0) return `lab ${lab}: no graded exercises (the README's exercises without a mark are for thought, or left to you)`;
  const lines = [`lab ${lab}: ${exercises.length} graded exercise${exercises.length === 1 ? '' : 's'} (run one: npm run learn -- exercise ${lab} <n>)`];
  for (const e of exercises) lines.push(`  ${String(e.number).padStart(2)}  ${e.name}`, `      passes when: ${e.passCondition}`, `      ${e.file}`);
  return lines.join('\n');
}

/** `01 exercise 1  FAIL  0/1 tests` with the first failing assertion. */
export function formatExerciseResult(e: GradedExercise, r: ExerciseResult): string {
  const lines = [`${e.lab} exercise ${e.number}  ${r.passed ? 'PASS' : 'FAIL'}  ${r.passedTests}/${r.total} tests  (${e.name})`];
  if (r.firstFailure) lines.push(`     first failure: ${r.firstFailure.test}`, `       ${r.firstFailure.reason.slice(0, 300)}`);
  return lines.join('\n');
}
