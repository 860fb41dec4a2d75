/**
 * Runs an interview id's tests by file and title through `bash infra/test.sh` (the suite's setup:
 * one broker and Toxiproxy; each test starts what else it needs), echoing vitest's output, and
 * collects what the tests logged with a number in it: the figures the answer quotes.
 */
import { spawn } from 'node:child_process';
import { repoRoot } from '../../infra/paths.js';
import type { InterviewQuestion } from './questions.js';

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** vitest's -t: a regular expression matching any of the titles (vitest matches it inside the full name). */
export function titlePattern(titles: string[]): string {
  return titles.map(escapeRegExp).join('|');
}

/** The argv that runs the question's tests, and nothing else in their files. */
export function testCommand(q: InterviewQuestion): string[] {
  return ['bash', 'infra/test.sh', ...q.tests.map((t) => t.file), '-t', titlePattern(q.tests.flatMap((t) => t.titles))];
}

export const shellQuote = (arg: string) => (/^[\w./:=@-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * The lines tests logged that hold a number, under the test that logged them. vitest prints a test's
 * console output as a `stdout | file > describe > title` line, then the lines, then a blank line.
 */
export function loggedNumbers(output: string): string[] {
  const found: string[] = [];
  let test: string | undefined;
  for (const raw of output.replace(ANSI, '').split('\n')) {
    const line = raw.trimEnd();
    const header = /^stdout \| (.+)$/.exec(line);
    if (header) {
      test = header[1]!;
      continue;
    }
    if (!line) test = undefined;
    else if (test && /\d/.test(line)) found.push(`${test}\n    ${line.trim()}`);
  }
  return found;
}

/** Runs the tests, echoing their output; resolves with the exit code and the logged figures. */
export function runTests(q: InterviewQuestion): Promise<{ code: number; numbers: string[] }> {
  const [cmd, ...args] = testCommand(q);
  const child = spawn(cmd!, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const echo = (to: NodeJS.WriteStream) => (chunk: Buffer) => {
    output += chunk.toString();
    to.write(chunk);
  };
  child.stdout.on('data', echo(process.stdout));
  child.stderr.on('data', echo(process.stderr));
  return new Promise((resolve) => {
    child.on('close', (code) => resolve({ code: code ?? 1, numbers: loggedNumbers(output) }));
  });
}
