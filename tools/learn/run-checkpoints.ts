import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { titlePattern, type Checkpoint } from './checkpoints.js';
import { grade, type Grade, type VitestReport } from './grade.js';

/** `tsc --noEmit` in the workspace: undefined when it compiles, else tsc's output. */
export function typeCheck(workspace: string): string | undefined {
  const r = spawnSync('npx', ['tsc', '--noEmit'], { cwd: workspace, encoding: 'utf8' });
  return r.status === 0 ? undefined : `${r.stdout}${r.stderr}`.trim() || `tsc exited with ${r.status}`;
}

/**
 * Runs the checkpoints' tests in the workspace with vitest (its own config: one real broker and
 * Toxiproxy for the run, each test starting its own nginx, API and workers) and grades them from
 * vitest's JSON report. Only the named files run, and in them only the named tests (`-t`).
 */
export function runCheckpoints(workspace: string, checkpoints: Checkpoint[]): { grades: Grade[]; output: string } {
  const files = [...new Set(checkpoints.flatMap((c) => c.tests.map((t) => t.file)))];
  const dir = mkdtempSync(join(tmpdir(), 'learn-report-'));
  const reportFile = join(dir, 'vitest.json');
  try {
    const r = spawnSync('npx', ['vitest', 'run', ...files, '-t', titlePattern(checkpoints), '--reporter=json', `--outputFile=${reportFile}`],
      { cwd: workspace, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const output = `${r.stdout}${r.stderr}`;
    if (!existsSync(reportFile)) throw new Error(`vitest wrote no report (exit ${r.status}); its output:\n${output.slice(-4000)}`);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as VitestReport;
    return { grades: grade(checkpoints, report, workspace), output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
