/**
 * Docs that cannot drift: every README.md and docs/*.md is read, and each command it shows, file it
 * links or names, and test it cites must exist. File reads only (no process is started). The
 * checker itself is first run on a small hand-written repo, where each kind of drift is planted.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../paths.js';
import { citations, markdownFiles, missingCitedTests, missingCommands, missingFiles, testTitles, titleMatches } from './docs-check.js';

describe('the docs checker, on a planted repo', () => {
  const root = mkdtempSync(join(tmpdir(), 'docs-check-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('package.json', JSON.stringify({ scripts: { up: 'x', lag: 'y' } }));
  write('infra/up.sh', '');
  write('.gitignore', 'docs/api/\n');
  write('labs/01/test/track.test.ts', [
    "describe('POST /track', () => {",
    "  it('acks with 202 only once the event is in Kafka', () => {});",
    "  it('keeps one user\\'s events in order', () => {});",
    '  it(`answers ${n} requests`, () => {});',
    '});',
    'const N = 200;',
    "it(`lets api produce ${N} events`, () => {});",
    "for (const via of ['nginx', 'the API'] as const) it(`gzip through ${via}`, () => {});",
  ].join('\n'));
  write('labs/01/README.md', [
    '```bash', 'npm run up', 'npm run nope -- list', 'npm run -s lag', 'npm run --silent gone', 'bash infra/up.sh', 'bash infra/gone.sh', 'npx tsx infra/gone.ts', '```',
    'Also `npm run lag`, [the test](test/track.test.ts), [gone](test/gone.test.ts), `shared/gone.ts` and (generated) `docs/api/index.html`.',
    '| claim | [`test/track.test.ts`](test/track.test.ts) › *acks with 202 only once the event is in Kafka*, *keeps one',
    "user's events in order* |",
    '| next | › acks with 202 … / no such test |',
    '`track.test.ts` › *answers … requests*; `track.test.ts` › *answers 5 requests*; `other.test.ts` › *x*',
    '`track.test.ts` › *lets api produce 200 events*, *lets api produce 300 events*, *gzip through nginx*, *gzip through a proxy*',
  ].join('\n'));
  const doc = 'labs/01/README.md';
  const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts;

  it('reports an npm script that package.json lacks and a script file that does not exist, and nothing that exists', () => {
    expect(missingCommands(root, doc, scripts).sort()).toEqual([
      'bash infra/gone.sh: no such file', 'npm run gone: no such script in package.json', 'npm run nope: no such script in package.json',
      'npx tsx infra/gone.ts: no such file',
    ]);
  });

  it('reports a linked or named file that does not exist', () => {
    // (the scripts the commands run are files too)
    expect(missingFiles(root, doc).sort()).toEqual(['infra/gone.sh: no such file', 'infra/gone.ts: no such file',
      'link test/gone.test.ts: no such file', 'shared/gone.ts: no such file']);
  });

  it('reads citations with several titles, across lines, in table rows continued by a bare ›, with … for omitted words', () => {
    expect(citations(readFileSync(join(root, doc), 'utf8')).map((c) => c.title)).toEqual([
      'acks with 202 only once the event is in Kafka', "keeps one user's events in order", 'acks with 202 …', 'no such test',
      'answers … requests', 'answers 5 requests', 'x',
      'lets api produce 200 events', 'lets api produce 300 events', 'gzip through nginx', 'gzip through a proxy',
    ]);
    expect(testTitles(readFileSync(join(root, 'labs/01/test/track.test.ts'), 'utf8'))).toEqual([
      'POST /track', 'acks with 202 only once the event is in Kafka', "keeps one user's events in order", 'answers ${n} requests',
      'lets api produce ${N} events', 'gzip through ${via}',
    ]);
    expect(titleMatches('acks with 202 …', 'acks with 202 only once the event is in Kafka')).toBe(true);
    expect(titleMatches('acks with 203 …', 'acks with 202 only once the event is in Kafka')).toBe(false);
    expect(titleMatches('records the client IP nginx saw …', 'records the client IP nginx saw, whatever X-Forwarded-For')).toBe(true);
  });

  it('reports a cited title that no test has, and a cited file that does not exist', () => {
    expect(missingCitedTests(root, doc)).toEqual([
      'test/track.test.ts › no such test: no test with this title in labs/01/test/track.test.ts',
      'track.test.ts › answers 5 requests: no test with this title in labs/01/test/track.test.ts',
      'other.test.ts › x: no such test file',
      'track.test.ts › lets api produce 300 events: no test with this title in labs/01/test/track.test.ts',
      'track.test.ts › gzip through a proxy: no test with this title in labs/01/test/track.test.ts',
    ]);
  });

  it('checks what a cited title says in place of a `${…}`: a constant\'s value, a loop\'s strings, and no number for anything computed (cite it as …)', () => {
    const source = readFileSync(join(root, 'labs/01/test/track.test.ts'), 'utf8');
    expect(titleMatches('lets api produce 200 events', 'lets api produce ${N} events', source)).toBe(true);
    expect(titleMatches('lets api produce 300 events', 'lets api produce ${N} events', source)).toBe(false);
    expect(titleMatches('gzip through the API', 'gzip through ${via}', source)).toBe(true);
    expect(titleMatches('gzip through a proxy', 'gzip through ${via}', source)).toBe(false);
    expect(titleMatches('answers 5 requests', 'answers ${n} requests', source)).toBe(false);
    expect(titleMatches('answers some requests', 'answers ${n} requests', source)).toBe(true);
  });
});

describe('the docs of this repo', () => {
  const scripts = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts as Record<string, string>;
  const docs = markdownFiles(repoRoot);

  it('include the root README, every lab README and docs/*.md', () => {
    expect(docs).toEqual(expect.arrayContaining(['README.md', 'docs/architecture.md', 'docs/observability.md',
      'labs/01-ingest/README.md', 'labs/02-consumer-groups/README.md', 'labs/03-failure/README.md', 'labs/04-dlq/README.md']));
  });

  for (const doc of docs) {
    it(`${doc}: every npm script, bash script and tsx entry it shows exists`, () => {
      expect(missingCommands(repoRoot, doc, scripts)).toEqual([]);
    });
    it(`${doc}: every file it links or names exists`, () => {
      expect(missingFiles(repoRoot, doc)).toEqual([]);
    });
    it(`${doc}: every test it cites (\`x.test.ts\` › *title*) exists under that title`, () => {
      expect(missingCitedTests(repoRoot, doc)).toEqual([]);
    });
  }
});
