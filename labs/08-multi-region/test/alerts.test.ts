/** labs/08-multi-region/alerts.yml is valid Prometheus and fires just above its threshold (promtool's unit tests). */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../infra/paths.js';
import { promtoolBin } from '../../../shared/observability/prometheus.js';

const exec = promisify(execFile);
const lab = join(repoRoot, 'labs', '08-multi-region');

describe('lab 08 alert rule', () => {
  it('MirrorReplicationLagHigh is valid and passes its promtool unit tests (1,000 records behind: none; 1,001 for 2 minutes: a warning)', async () => {
    const check = await exec(promtoolBin, ['check', 'rules', join(lab, 'alerts.yml')]);
    expect(check.stdout).toContain('SUCCESS: 1 rules found');
    const unit = await exec(promtoolBin, ['test', 'rules', join(lab, 'alerts.test.yml')]);
    expect(unit.stdout).toContain('SUCCESS');
  });
});
