import type { Checkpoint } from './checkpoints.js';

/** The part of vitest's JSON report (`--reporter=json`) the grader reads. */
export interface VitestReport {
  testResults: {
    name: string;
    message?: string;
    assertionResults: { fullName: string; title: string; status: string; failureMessages?: string[] }[];
  }[];
}

export interface Grade {
  checkpoint: string;
  passed: number;
  total: number;
  /** Each test's outcome (a title matching several tests gives several). */
  results: { title: string; passed: boolean; guard: boolean }[];
  /** The first test that did not pass, and the first line of why. */
  firstFailure?: { test: string; reason: string };
}

const firstLine = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '').split('\n').find((l) => l.trim())?.trim() ?? '';

/**
 * One grade per checkpoint, in the given order: passed when each of its tests ran and passed. A
 * test absent from the report (its file failed to load, or the title matches nothing) counts as failed.
 */
export function grade(checkpoints: Checkpoint[], report: VitestReport, root: string): Grade[] {
  return checkpoints.map((c) => {
    const g: Grade = { checkpoint: c.id, passed: 0, total: 0, results: [] };
    for (const t of c.tests) {
      const file = report.testResults.find((r) => r.name === `${root}/${t.file}` || r.name.endsWith(`/${t.file}`));
      const matches = file?.assertionResults.filter((a) => a.fullName.includes(t.title)) ?? [];
      const results = matches.length ? matches : [undefined];
      for (const a of results) {
        g.total++;
        g.results.push({ title: a?.title ?? t.title, passed: a?.status === 'passed', guard: t.guard ?? false });
        if (a?.status === 'passed') {
          g.passed++;
          continue;
        }
        if (g.firstFailure) continue;
        const reason = a ? firstLine(a.failureMessages?.[0] ?? a.status)
          : file ? firstLine(file.message ?? '') || 'no test with this title ran'
            : 'its test file did not run';
        g.firstFailure = { test: a?.title ?? t.title, reason };
      }
    }
    return g;
  });
}

/** `01 ack-before-202   FAIL  0/2  …`: one line per checkpoint, plus the first failure and a hint. */
export function formatGrades(lab: string, grades: Grade[], firstHint: (checkpoint: string) => string | undefined): string {
  const width = Math.max(...grades.map((g) => g.checkpoint.length));
  const lines: string[] = [];
  for (const g of grades) {
    const ok = g.passed === g.total;
    lines.push(`${lab} ${g.checkpoint.padEnd(width)}  ${ok ? 'PASS' : 'FAIL'}  ${g.passed}/${g.total} tests`);
    if (ok || !g.firstFailure) continue;
    lines.push(`     first failure: ${g.firstFailure.test}`);
    lines.push(`       ${g.firstFailure.reason.slice(0, 300)}`);
    const hint = firstHint(g.checkpoint);
    if (hint) lines.push(`     hint: ${hint}`);
  }
  const done = grades.filter((g) => g.passed === g.total).length;
  lines.push(`${done} of ${grades.length} checkpoints pass`);
  return lines.join('\n');
}
