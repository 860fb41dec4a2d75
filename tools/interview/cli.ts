/**
 * `npm run interview` lists the interview questions this repo proves; `npm run interview -- <id>`
 * runs the tests that prove one (by file and title) and prints the figures they logged, or, for the
 * seed's numbers, the benchmark rows (benchmarks are not run here, nor in CI). `--dry-run` prints
 * the test command without running it. The long answers: docs/interview.md.
 */
import { SEED_NUMBERS } from './numbers.js';
import { QUESTIONS, findQuestion, type InterviewQuestion } from './questions.js';
import { runTests, shellQuote, testCommand } from './run.js';

function list(): void {
  console.log('Interview questions this repo answers with a test or a measurement (docs/interview.md):\n');
  const width = Math.max(...QUESTIONS.map((q) => q.id.length));
  for (const q of QUESTIONS) console.log(`  ${q.id.padEnd(width)}  ${q.question}`);
  console.log('\nnpm run interview -- <id>            runs its tests and prints the figures they log');
  console.log('npm run interview -- <id> --dry-run  prints the test command only');
}

function header(q: InterviewQuestion): void {
  console.log(`${q.id}: ${q.question}\n\n${q.answer}\n`);
  for (const t of q.tests) for (const title of t.titles) console.log(`  proof: ${t.file} › ${title}`);
  for (const b of q.benches) console.log(`  benchmark (not run here, nor in CI): npm run ${b.command.replace(/^npm run /, '')} — ${b.measures} ${b.figures}`);
}

function numbers(): void {
  console.log('The seed\'s numbers beside what this repo measured (benchmarks: printed, not run here, nor in CI):\n');
  for (const row of SEED_NUMBERS) {
    console.log(`  seed: ${row.seed}`);
    console.log(`    here: ${row.measured}`);
    console.log(`    ${row.commands.length ? `measure: ${row.commands.map((c) => `npm run ${c}`).join(', ')}` : 'not measurable here'}\n`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [id, ...flags] = argv.filter((a) => a !== '--');
  if (!id) {
    list();
    return 0;
  }
  const q = findQuestion(id);
  if (!q) {
    console.error(JSON.stringify({ error: 'unknown_interview_id', message: `no interview id "${id}"; known: ${QUESTIONS.map((x) => x.id).join(', ')}` }));
    return 1;
  }
  header(q);
  if (q.id === 'numbers') {
    numbers();
    return 0;
  }
  const command = testCommand(q).map(shellQuote).join(' ');
  console.log(`\n$ ${command}\n`);
  if (flags.includes('--dry-run') || q.tests.length === 0) return 0;
  const { code, numbers: logged } = await runTests(q);
  console.log(`\n${q.id}: the figures these tests logged${logged.length ? ':' : ': none'}`);
  for (const line of logged) console.log(`  ${line}`);
  console.log(code === 0 ? `${q.id}: proved (every test above passed)` : `${q.id}: NOT proved (exit ${code})`);
  return code;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error: unknown) => {
  console.error(JSON.stringify({ error: 'interview_failed', message: (error as Error).message }));
  process.exitCode = 1;
});
