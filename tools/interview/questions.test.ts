/**
 * `npm run interview` cannot point at a test that is not there: every id's files exist and hold a
 * test under each title it names (read from the source, as docs-consistency reads citations), its
 * -t pattern selects those tests and no other in their files, and every benchmark it prints is an
 * npm script. File reads only: no broker is used.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../infra/paths.js';
import { testTitles, titleMatches } from '../../infra/test/docs-check.js';
import { SEED_NUMBERS } from './numbers.js';
import { QUESTIONS } from './questions.js';
import { loggedNumbers, titlePattern } from './run.js';

const scripts = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts as Record<string, string>;

describe('npm run interview', () => {
  it('has the ids the docs name, each once, each proved by a test or a benchmark', () => {
    const ids = QUESTIONS.map((q) => q.id);
    expect(ids).toEqual(expect.arrayContaining(['ack-crash', 'spike', 'no-loss', 'multi-dc', 'partitions', 'numbers']));
    expect(new Set(ids).size).toBe(ids.length);
    for (const q of QUESTIONS) expect(q.tests.length + q.benches.length + (q.id === 'numbers' ? SEED_NUMBERS.length : 0), q.id).toBeGreaterThan(0);
  });

  for (const q of QUESTIONS) {
    for (const t of q.tests) {
      it(`${q.id}: ${t.file} holds every title it names, and its -t pattern selects only those`, () => {
        const path = join(repoRoot, t.file);
        expect(existsSync(path), `${t.file}: no such test file`).toBe(true);
        const source = readFileSync(path, 'utf8');
        const titles = testTitles(source);
        const missing = t.titles.filter((cited) => !titles.some((title) => titleMatches(cited, title, source)));
        expect(missing, `${t.file}: no test with these titles`).toEqual([]);
        const pattern = new RegExp(titlePattern(q.tests.flatMap((x) => x.titles)));
        const extra = titles.filter((title) => pattern.test(title) && !t.titles.includes(title));
        expect(extra, `${t.file}: -t would also run these`).toEqual([]);
      });
    }
  }

  it('prints only benchmarks that are npm scripts, and every seed figure is in docs/interview.md', () => {
    const commands = [...QUESTIONS.flatMap((q) => q.benches.map((b) => b.command.replace(/^npm run /, ''))), ...SEED_NUMBERS.flatMap((r) => r.commands)];
    expect(commands.filter((c) => !(c in scripts))).toEqual([]);
    const doc = readFileSync(join(repoRoot, 'docs', 'interview.md'), 'utf8');
    expect(SEED_NUMBERS.map((r) => r.seed).filter((seed) => !doc.includes(seed))).toEqual([]);
  });

  it('collects the lines a test logged that hold a number, under the test that logged them', () => {
    const output = [
      '\x1b[90mstdout\x1b[2m | labs/x/test/a.test.ts > s > t', '[a] sent=3 202=3', 'no figure here', '',
      ' ✓ labs/x/test/a.test.ts (1 test) 12ms', 'stderr | other', 'warn 1',
    ].join('\n');
    expect(loggedNumbers(output)).toEqual(['labs/x/test/a.test.ts > s > t\n    [a] sent=3 202=3']);
  });
});
