/** The error table is the one place codes live: the README lists them and nginx uses only them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../infra/paths.js';
import { API_ERRORS } from '../src/errors.js';

const readme = readFileSync(join(repoRoot, 'labs', '01-ingest', 'README.md'), 'utf8');
const template = readFileSync(join(repoRoot, 'infra', 'nginx', 'nginx.conf.template'), 'utf8');

describe('the error table (src/errors.ts)', () => {
  it('is the README\'s error table, code for code, with the same status and retryability', () => {
    const rows = [...readme.matchAll(/^\| `(\w+)` \| (\d{3}) \| (yes|no) \|/gm)].map((m) => [m[1], Number(m[2]), m[3] === 'yes']);
    const table = Object.entries(API_ERRORS).map(([code, e]) => [code, e.status, e.retryable]);
    expect(rows).toEqual(table);
  });

  it('gives every answer nginx makes itself a code of the table with the same status, as JSON', () => {
    const answers = [...template.matchAll(/return (\d{3}) '(\{.*\})';/g)].map((m) => ({ status: Number(m[1]), body: JSON.parse(m[2]!.replace(/\{\{\w+\}\}/g, '0')) }));
    const errors = answers.filter((a) => a.status >= 400);
    expect(errors.length).toBeGreaterThanOrEqual(8);
    for (const { status, body } of errors) {
      expect(Object.keys(body)).toEqual(['error', 'message']);
      expect({ code: body.error, status: API_ERRORS[body.error as keyof typeof API_ERRORS]?.status }).toEqual({ code: body.error, status });
    }
    // Every status nginx can produce on its own is routed to one of those JSON answers.
    const pages = [...template.matchAll(/error_page (\d{3}) @(\w+);/g)].map((m) => [Number(m[1]), m[2]]);
    expect(pages.map(([status]) => status)).toEqual([400, 404, 413, 429, 500, 502, 503, 504]);
    for (const [status, name] of pages) expect(template).toMatch(new RegExp(`location @${name} \\{[^}]*return ${status} '\\{"error":"${name}"`));
  });
});
