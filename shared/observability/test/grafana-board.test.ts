/**
 * The Grafana board as code (shared/observability/grafana): the committed JSON is what the
 * generator makes now, the alert rules and the board share their expressions (compared as a real
 * Prometheus parses and prints them, so spacing does not matter and meaning does), every query on
 * the board parses, and the provisioning files point at the board's datasource.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../infra/paths.js';
import { boardJson, boardUid, buildBoard, datasource } from '../grafana/board.js';
import { boardQueries, toPromQL } from '../grafana/board-queries.js';
import { boardFile } from '../grafana/generate.js';
import { alertExpr, alertRules } from '../grafana/queries.js';
import { startPrometheus, type PrometheusServer } from '../prometheus.js';

const ruleFiles = ['docs/alerts.yml', 'labs/08-multi-region/alerts.yml'];
let prometheus: PrometheusServer;

beforeAll(async () => {
  // No targets: only the rule files and the query parser are needed.
  prometheus = await startPrometheus({ jobs: {}, rules: ruleFiles.map((f) => join(repoRoot, f)) });
});
afterAll(async () => {
  await prometheus?.stop();
});

/** An expression as Prometheus prints it once parsed (its /api/v1/format_query). */
async function formatted(expr: string): Promise<string> {
  const response = await fetch(`${prometheus.url}/api/v1/format_query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as { status: string; data?: string; error?: string };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data!;
}

describe('the Grafana board as code', () => {
  it('the committed crm-event-lab.json is what `npm run dashboard:grafana` generates now', () => {
    expect(readFileSync(boardFile, 'utf8')).toBe(boardJson());
  });

  it('every alert rule in docs/alerts.yml and lab 08\'s alerts.yml is the expression queries.ts builds for it, and no rule is missing', async () => {
    const loaded = await prometheus.rules();
    expect(loaded.map((r) => r.name).sort()).toEqual(Object.keys(alertRules).sort());
    for (const rule of loaded) {
      expect({ rule: rule.name, query: await formatted(rule.query) }).toEqual({ rule: rule.name, query: await formatted(alertExpr(alertRules[rule.name]!)) });
    }
  });

  it("the board plots every alert's measure, with the alert's threshold on the same panel", () => {
    const queries = boardQueries(buildBoard() as never);
    for (const [name, rule] of Object.entries(alertRules)) {
      const onBoard = queries.find((q) => q.expr === rule.measure('$__rate_interval'));
      expect(onBoard, `${name}: ${rule.measure('$__rate_interval')} on the board`).toBeDefined();
      expect(onBoard!.thresholds, `${name}'s panel "${onBoard!.panel}"`).toContain(rule.threshold);
      if (rule.and) expect(queries.map((q) => q.expr)).toContain(rule.and.measure());
    }
  });

  it('every query on the board parses in Prometheus once Grafana\'s variables are replaced', async () => {
    const queries = boardQueries(buildBoard() as never);
    expect(queries.length).toBeGreaterThanOrEqual(16);
    for (const q of queries) {
      await expect(formatted(toPromQL(q.expr, { rateInterval: '1m', interval: '15s', range: '30m' })), `${q.panel} ${q.refId}`).resolves.toBeTruthy();
    }
  });

  it("the provisioning files define the board's datasource uid and load the board's folder", () => {
    const dir = join(repoRoot, 'shared', 'observability', 'grafana', 'provisioning');
    const ds = readFileSync(join(dir, 'datasources', 'crm-prometheus.yaml'), 'utf8');
    expect(ds).toMatch(new RegExp(`^\\s+uid: ${datasource.uid}$`, 'm'));
    expect(ds).toMatch(/^\s+type: prometheus$/m);
    const boards = readFileSync(join(dir, 'dashboards', 'crm-event-lab.yaml'), 'utf8');
    expect(boards).toMatch(/^\s+type: file$/m);
    expect(boards).toMatch(/^\s+path: \$\{CRM_LAB_GRAFANA_BOARDS\}$/m);
    const board = JSON.parse(readFileSync(boardFile, 'utf8')) as { uid: string; panels: { datasource?: { uid: string } }[] };
    expect(board.uid).toBe(boardUid);
    expect(new Set(board.panels.filter((p) => p.datasource).map((p) => p.datasource!.uid))).toEqual(new Set([datasource.uid]));
  });
});
