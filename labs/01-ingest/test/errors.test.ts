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
    // Every status nginx 1.22 can produce on its own (infra/nginx/nginx.conf.template says where each
    // comes from) is routed to one of those JSON answers; 494 and 497 are nginx's own codes, which
    // error_page 400 does not catch, so each has its line and the status actually sent ("=").
    const pages = [...template.matchAll(/error_page (\d{3}) (?:=(\d{3}) )?\/_errors\/(\w+);/g)]
      .map((m) => ({ status: Number(m[1]), sent: Number(m[2] ?? m[1]), code: m[3]! }));
    // 497 sits with the TLS-only part of the template (the HTTPS port), so the list is compared sorted.
    expect(pages.map((p) => p.status).sort((a, b) => a - b)).toEqual([400, 404, 405, 413, 414, 429, 494, 497, 500, 501, 502, 503, 504, 505]);
    for (const { sent, code } of pages) {
      expect({ code, status: API_ERRORS[code as keyof typeof API_ERRORS]?.status }).toEqual({ code, status: sent });
      // An internal location, not a named one: a named location needs the request's URI, which a
      // 400 or 414 on the request line does not have yet (nginx then answered an HTML 500).
      expect(template).toMatch(new RegExp(`location = /_errors/${code} \\{\\s*internal;[^}]*return ${sent} '\\{"error":"${code}"`));
    }
  });
});
