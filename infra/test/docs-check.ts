/**
 * What the docs claim that a file read can check: the commands they show exist (`npm run X` in
 * package.json, `bash x.sh` and `tsx x.ts` files), the files they link or name exist, and every test
 * they cite as `` `x.test.ts` › *title* `` exists under that title. Pure functions of the repo's
 * files, for infra/test/docs-consistency.test.ts.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';

/** Every README.md (outside node_modules) and docs/*.md, relative to the repo root. */
export function markdownFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      if (entry === 'node_modules' || entry.startsWith('.')) continue;
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry === 'README.md' || (basename(dir) === 'docs' && entry.endsWith('.md'))) found.push(relative(root, path));
    }
  };
  walk(root);
  return found.sort();
}

/** The text of fenced code blocks and of inline code spans: where commands are shown. */
function codeTexts(markdown: string): string[] {
  const texts: string[] = [];
  const withoutFences = markdown.replace(/^```[^\n]*\n([\s\S]*?)^```/gm, (_, body: string) => {
    texts.push(body);
    return '';
  });
  for (const match of withoutFences.matchAll(/`([^`\n]+)`/g)) texts.push(match[1]!);
  return texts;
}

const placeholder = /[…<>*{}$]|\.\.\./;

/** Files a path names, tried from the repo root and from the doc's folder. */
function pathExists(root: string, docDir: string, path: string): boolean {
  return existsSync(join(root, path)) || existsSync(join(root, docDir, path));
}

/** Commands shown in the doc that do not exist: unknown npm scripts, missing scripts run with bash or tsx. */
export function missingCommands(root: string, doc: string, scripts: Record<string, string>): string[] {
  const problems: string[] = [];
  const docDir = dirname(doc);
  for (const text of codeTexts(readFileSync(join(root, doc), 'utf8'))) {
    // npm's own options (`npm run -s lag`) come before the script's name.
    for (const [, name] of text.matchAll(/\bnpm run (?:--?[\w-]+ )*([\w:.][\w:.-]*)/g)) {
      if (!(name! in scripts)) problems.push(`npm run ${name}: no such script in package.json`);
    }
    for (const [command, path] of text.matchAll(/\b(?:bash|(?:npx )?tsx) ([\w./-]+\.(?:sh|ts))\b/g)) {
      if (!placeholder.test(path!) && !pathExists(root, docDir, path!)) problems.push(`${command}: no such file`);
    }
  }
  return [...new Set(problems)];
}

/** Folders .gitignore lists (`docs/api/`, `.run/`): what is in them is generated, not committed. */
function ignoredFolders(root: string): string[] {
  try {
    return readFileSync(join(root, '.gitignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.endsWith('/') && !l.startsWith('#'));
  } catch {
    return [];
  }
}

/**
 * Repository paths the doc links to or names in code (infra/…, shared/…, labs/…, docs/… with an
 * extension) that do not exist; paths in git-ignored folders (generated output) are not checked.
 */
export function missingFiles(root: string, doc: string): string[] {
  const problems: string[] = [];
  const docDir = dirname(doc);
  const generated = ignoredFolders(root);
  const markdown = readFileSync(join(root, doc), 'utf8');
  for (const [, target] of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^(?:[a-z]+:|#)/.test(target!)) continue; // a web address or an anchor in the page
    const path = decodeURI(target!.replace(/#.*$/, ''));
    if (!existsSync(resolve(root, docDir, path))) problems.push(`link ${target}: no such file`);
  }
  for (const text of codeTexts(markdown)) {
    for (const [path] of text.matchAll(/(?<![\w./-])(?:infra|shared|labs|docs)\/[\w./-]+\.(?:ts|sh|md|yml|yaml|json|html|env|xml|conf|template|properties)\b/g)) {
      if (placeholder.test(path) || generated.some((folder) => path.startsWith(folder))) continue;
      if (!pathExists(root, docDir, path)) problems.push(`${path}: no such file`);
    }
  }
  return [...new Set(problems)];
}

/** A cited test: the file it names (as written) and the title, with `…` for the omitted parts. */
export interface Citation {
  file: string;
  title: string;
}

/**
 * Every `` `x.test.ts` › *title* `` in the doc, also as a link (`` [`x.test.ts`](path) ``), with
 * several titles (`*a*, *b*`), plain titles up to a table cell's end (`› a / b |`), and a bare
 * `›` that continues the file cited before it (a table's next row).
 */
export function citations(markdown: string): (Citation & { path?: string })[] {
  const text = markdown.replace(/\s*\n\s*/g, ' ');
  const found: (Citation & { path?: string })[] = [];
  let current: { file: string; path?: string } | undefined;
  const tokens = /\[`([^`]+\.test\.ts)`\]\(([^)]+)\)|`([^`]+\.test\.ts)`|›\s*/g;
  for (let match = tokens.exec(text); match; match = tokens.exec(text)) {
    if (match[1]) current = { file: match[1], path: match[2] };
    else if (match[3]) current = { file: match[3] };
    else if (current) {
      const rest = text.slice(tokens.lastIndex);
      const italic = rest.match(/^\*[^*]+\*(?:\s*,\s*\*[^*]+\*)*/);
      const titles = italic
        ? [...italic[0].matchAll(/\*([^*]+)\*/g)].map((m) => m[1]!)
        : rest.split('|')[0]!.split(' / ');
      for (const title of titles) if (title.trim()) found.push({ ...current, title: title.trim() });
    }
  }
  return found;
}

/** The titles of a test file's `describe`/`it`/`test` calls (string literals; `${…}` kept as written). */
export function testTitles(source: string): string[] {
  const titles: string[] = [];
  const call = /\b(?:describe|it|test)(?:\.\w+(?:\([^)]*\))?)*\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g;
  for (const [, , raw] of source.matchAll(call)) titles.push(raw!.replace(/\\(.)/g, '$1'));
  return titles;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const normal = (s: string) => s.replace(/\s+/g, ' ').trim();

/**
 * What a `${expr}` in a test title can be, as a regular expression: the value of `const expr = <literal>`
 * in the file, one of the strings of `for (const expr of ['a', 'b'])`, else any text without a digit —
 * a computed number cannot be checked here, so a doc must write it as `…`, visibly unchecked.
 */
function placeholderPattern(expr: string, source: string): string {
  const name = expr.trim();
  if (/^[A-Za-z_$][\w$]*$/.test(name)) {
    const literal = new RegExp(`\\bconst\\s+${escape(name)}\\s*=\\s*(?:(-?[\\d_]+(?:\\.\\d+)?)|(['"])((?:\\\\.|(?!\\2).)*)\\2)\\s*(?:as\\s+const\\s*)?;`).exec(source);
    if (literal) return escape(literal[1] !== undefined ? String(Number(literal[1].replace(/_/g, ''))) : literal[3]!);
    const loop = new RegExp(`\\bfor\\s*\\(\\s*const\\s+${escape(name)}\\s+of\\s*\\[([^\\]]*)\\]`).exec(source);
    const options = loop ? [...loop[1]!.matchAll(/(['"])((?:\\.|(?!\1).)*)\1/g)].map((m) => escape(m[2]!)) : [];
    if (options.length) return `(?:${options.join('|')})`;
  }
  return '[^0-9]*';
}

/**
 * Whether a cited title (`…` for omitted words) names this test title. A `${…}` in the title is
 * resolved from `source`, the test file (placeholderPattern): a cited number must be the constant's.
 */
export function titleMatches(cited: string, title: string, source = ''): boolean {
  const c = normal(cited);
  const t = normal(title);
  if (c === t) return true;
  if (/…|\.\.\./.test(c)) return new RegExp(`^${c.split(/\s*(?:…|\.\.\.)\s*/).map(escape).join('.*')}$`).test(t);
  if (!t.includes('${')) return false;
  const parts: string[] = [];
  let last = 0;
  for (const m of t.matchAll(/\$\{([^}]*)\}/g)) {
    parts.push(escape(t.slice(last, m.index)), placeholderPattern(m[1]!, source));
    last = m.index! + m[0].length;
  }
  parts.push(escape(t.slice(last)));
  return new RegExp(`^${parts.join('')}$`).test(c);
}

/** Test files named `name` in the repository (outside node_modules). */
function testFilesNamed(root: string, name: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      if (entry === 'node_modules' || entry.startsWith('.')) continue;
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry === name) found.push(path);
    }
  };
  walk(root);
  return found;
}

/** The cited file: the link's target, else the file of that name beside the doc or in its test/ folder, else the only one in the repo. */
function resolveCitedFile(root: string, doc: string, c: Citation & { path?: string }): string | string[] {
  const docDir = join(root, dirname(doc));
  if (c.path) return resolve(docDir, c.path);
  for (const near of [join(docDir, c.file), join(docDir, 'test', c.file)]) if (existsSync(near)) return near;
  const anywhere = testFilesNamed(root, c.file.split('/').at(-1)!);
  return anywhere.length === 1 ? anywhere[0]! : anywhere.map((f) => relative(root, f));
}

/** Cited tests that do not exist: no such file, an ambiguous name, or no test with that title. */
export function missingCitedTests(root: string, doc: string): string[] {
  const problems: string[] = [];
  for (const c of citations(readFileSync(join(root, doc), 'utf8'))) {
    const file = resolveCitedFile(root, doc, c);
    if (Array.isArray(file)) {
      problems.push(`${c.file} › ${c.title}: ${file.length === 0 ? 'no such test file' : `ambiguous (${file.join(', ')}): link the file`}`);
      continue;
    }
    if (!existsSync(file)) {
      problems.push(`${c.file} › ${c.title}: no such test file`);
      continue;
    }
    const source = readFileSync(file, 'utf8');
    if (!testTitles(source).some((title) => titleMatches(c.title, title, source))) {
      problems.push(`${c.file} › ${c.title}: no test with this title in ${relative(root, file)}`);
    }
  }
  return problems;
}
