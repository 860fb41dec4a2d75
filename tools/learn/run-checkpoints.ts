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
 * The vitest runs that grade `checkpoints` under `env`: one, unless LAB_RUNTIME asks for containers
 * and some checkpoints need the native runtime (`runtime: 'native'`), which then run apart, natively.
 */
export function gradingRuns(checkpoints: Checkpoint[], env: NodeJS.ProcessEnv = process.env): { checkpoints: Checkpoint[]; env: NodeJS.ProcessEnv }[] {
  const onContainers = (env.LAB_RUNTIME ?? 'native') !== 'native';
  const native = onContainers ? checkpoints.filter((c) => c.runtime === 'native') : [];
  const rest = checkpoints.filter((c) => !native.includes(c));
  return [
    ...(rest.length ? [{ checkpoints: rest, env }] : []),
    ...(native.length ? [{ checkpoints: native, env: { ...env, LAB_RUNTIME: 'native' } }] : []),
  ];
}

/**
 * Runs the checkpoints' tests in the workspace with vitest (its own config: one real broker and
 * Toxiproxy for the run, each test starting its own nginx, API and workers) and grades them from
 * vitest's JSON report. Only the named files run, and in them only the named tests (`-t`).
 * Grades come back in the checkpoints' order, also when some ran apart (gradingRuns).
 */
export function runCheckpoints(workspace: string, checkpoints: Checkpoint[], env: NodeJS.ProcessEnv = process.env): { grades: Grade[]; output: string } {
  const grades = new Map<string, Grade>();
  let output = '';
  for (const run of gradingRuns(checkpoints, env)) {
    const r = runVitest(workspace, run.checkpoints, run.env);
    for (const g of r.grades) grades.set(g.checkpoint, g);
    output += r.output;
  }
  return { grades: checkpoints.map((c) => grades.get(c.id)!), output };
}

function runVitest(workspace: string, checkpoints: Checkpoint[], env: NodeJS.ProcessEnv): { grades: Grade[]; output: string } {
  const files = [...new Set(checkpoints.flatMap((c) => c.tests.map((t) => t.file)))];
  const dir = mkdtempSync(join(tmpdir(), 'learn-report-'));
  const reportFile = join(dir, 'vitest.json');
  try {
    const r = spawnSync('npx', ['vitest', 'run', ...files, '-t', titlePattern(checkpoints), '--reporter=json', `--outputFile=${reportFile}`],
      { cwd: workspace, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env });
    const output = `${r.stdout}${r.stderr}`;
    if (!existsSync(reportFile)) throw new Error(`vitest wrote no report (exit ${r.status}); its output:\n${output.slice(-4000)}`);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as VitestReport;
    return { grades: grade(checkpoints, report, workspace), output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
