/** `npm run docs`: typedoc builds the API reference of shared/, infra/ and every lab's src/. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../infra/paths.js';

describe('npm run docs (typedoc)', () => {
  it('generates a page per module with the doc comments, without errors', async () => {
    const out = mkdtempSync(join(tmpdir(), 'obs-typedoc-'));
    // The same configuration as `npm run docs` (typedoc.json), into a temporary folder.
    // (execFile rejects when typedoc exits non-zero, which it does on any error.)
    const { stdout, stderr } = await promisify(execFile)(join(repoRoot, 'node_modules', '.bin', 'typedoc'), ['--out', out], { cwd: repoRoot });
    expect(`${stdout}${stderr}`).not.toContain('[error]');
    for (const page of ['index.html', 'modules/shared_metrics.html', 'modules/shared_trace.html', 'modules/labs_01-ingest_src_app.html',
      'modules/shared_observability_dashboard.html', 'functions/shared_metrics.createApiMetrics.html']) {
      expect(existsSync(join(out, page)), page).toBe(true);
    }
    expect(readFileSync(join(out, 'functions/shared_metrics.createApiMetrics.html'), 'utf8')).toContain('Defined in shared/metrics.ts');
  }, 120_000);
});
