import { matchesGlob } from 'node:path';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import suite from '../../../vitest.config.js';
import exercisesConfig from '../../../vitest.exercises.config.js';
import { formatExerciseResult, judgeExerciseReport, listExercises, type GradedExercise } from '../exercises.js';
import type { VitestReport } from '../grade.js';

const root = resolve(import.meta.dirname, '../../..');
const labs = readdirSync(join(root, 'labs')).filter((d) => /^\d\d-/.test(d)).sort();
const exerciseFiles = labs.flatMap((lab) => {
  const dir = join(root, 'labs', lab, 'exercises');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.exercise.test.ts')).map((f) => `labs/${lab}/exercises/${f}`) : [];
});

/** The README's `## Exercises` section. */
const exercisesSection = (lab: string) => {
  const readme = readFileSync(join(root, 'labs', lab, 'README.md'), 'utf8');
  return readme.split(/^## /m).find((s) => s.startsWith('Exercises\n')) ?? '';
};

describe('graded exercises', () => {
  it('every *.exercise.test.ts is listed by `learn exercise`, with its number, name and pass condition', () => {
    expect(exerciseFiles.length).toBeGreaterThanOrEqual(8);
    const listed = labs.flatMap((lab) => listExercises(root, lab.slice(0, 2)));
    expect(listed.map((e) => e.file).sort()).toEqual([...exerciseFiles].sort());
    for (const e of listed) {
      expect(e.name, e.file).toMatch(/\w/);
      expect(e.passCondition, e.file).not.toBe('(no test found)');
      expect(e.file).toContain(`/${e.number}-`);
      // What tools/learn/ci.ts checks it fails with on the reference.
      expect(e.failsOnReferenceWith, `${e.file}: its opening comment says "Fails on the reference with: \`…\`"`).toMatch(/\w/);
    }
  });

  it("each lab README marks exactly its graded exercises, at the item with the exercise's number", () => {
    for (const lab of labs) {
      const section = exercisesSection(lab);
      const nn = lab.slice(0, 2);
      const marked = [...section.matchAll(new RegExp(`graded: \`npm run learn -- exercise ${nn} (\\d+)\``, 'g'))].map((m) => Number(m[1]));
      expect(marked, lab).toEqual(listExercises(root, nn).map((e) => e.number));
      for (const n of marked) {
        const item = section.split(/^(?=\d+\. )/m).find((s) => s.startsWith(`${n}. `)) ?? '';
        expect(item, `${lab} exercise ${n}`).toContain(`npm run learn -- exercise ${nn} ${n}\``);
      }
    }
  });

  it('the default suite does not run them; the exercises config does', () => {
    const matches = (patterns: string[] | undefined, file: string) => (patterns ?? []).some((p) => matchesGlob(file, p));
    for (const file of exerciseFiles) {
      expect({ file, suite: matches(suite.test?.include, file) }).toEqual({ file, suite: false });
      expect({ file, exercises: matches(exercisesConfig.test?.include, file) }).toEqual({ file, exercises: true });
    }
    expect(exercisesConfig.test?.globalSetup).toEqual(suite.test?.globalSetup);
  });
});

describe("an exercise's grade, from vitest's JSON report", () => {
  const report = (...tests: { title: string; status: string; failureMessages?: string[] }[]): VitestReport =>
    ({ testResults: [{ name: '/x/labs/01-ingest/exercises/1-a.exercise.test.ts', assertionResults: tests.map((t) => ({ fullName: t.title, ...t })) }] });

  it('passes when every test ran and passed', () => {
    expect(judgeExerciseReport(report({ title: 'a', status: 'passed' }))).toEqual({ passed: true, total: 1, passedTests: 1 });
  });

  it('fails with the first failing assertion, its first line only', () => {
    const r = judgeExerciseReport(report({ title: 'a', status: 'failed', failureMessages: ['\x1b[31mAssertionError: expected 404 to be 202\x1b[39m\n    at …'] }));
    expect(r).toEqual({ passed: false, total: 1, passedTests: 0, firstFailure: { test: 'a', reason: 'AssertionError: expected 404 to be 202' } });
  });

  it('fails when the file did not load or no test ran', () => {
    const broken: VitestReport = { testResults: [{ name: 'f', message: 'Error: Cannot find module ./gone.js\n  at', assertionResults: [] }] };
    expect(judgeExerciseReport(broken).firstFailure).toEqual({ test: '(the file)', reason: 'Error: Cannot find module ./gone.js' });
    expect(judgeExerciseReport({ testResults: [] })).toMatchObject({ passed: false, firstFailure: { reason: 'no test ran' } });
  });

  it('prints PASS or FAIL, the count and the first failure', () => {
    const e: GradedExercise = { lab: '04', number: 2, name: 'a schema error is dead-lettered at once', passCondition: 'p', file: 'f' };
    expect(formatExerciseResult(e, { passed: false, total: 1, passedTests: 0, firstFailure: { test: 't', reason: 'r' } }).split('\n'))
      .toEqual(['04 exercise 2  FAIL  0/1 tests  (a schema error is dead-lettered at once)', '     first failure: t', '       r']);
    expect(formatExerciseResult(e, { passed: true, total: 1, passedTests: 1 })).toBe('04 exercise 2  PASS  1/1 tests  (a schema error is dead-lettered at once)');
  });
});
