/** Runs a repository script with tsx, as `npm run …` would, and collects its exit code and output. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';

const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `file` relative to the repository; killed after `timeoutMs`. `onSpawn` sees the child (to kill it in a cleanup hook). */
export function runTsx(file: string, { args = [], env = {}, timeoutMs = 60_000, onSpawn }: {
  args?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number; onSpawn?: (child: ChildProcess) => void;
} = {}): Promise<ScriptResult> {
  return new Promise((resolve) => {
    const child = spawn(tsx, [join(repoRoot, file), ...args], { cwd: repoRoot, env: { ...process.env, ...env } });
    onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command-line tool to its end: a hang (killed at `timeoutMs`) throws, a non-zero exit is returned. */
export async function runCli(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<ScriptResult & { code: number }> {
  const result = await runTsx(file, { args, env, timeoutMs });
  if (result.code === null) throw new Error(`${file} ${args.join(' ')} did not finish within ${timeoutMs} ms: ${result.stdout}${result.stderr}`);
  return { ...result, code: result.code };
}
