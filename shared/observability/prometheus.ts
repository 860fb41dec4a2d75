/**
 * A real Prometheus server (Debian's `prometheus` package, installed by infra/install.sh) as a
 * local process: scrapes the given /metrics endpoints every second and evaluates
 * docs/alerts.yml, for the alert test and for learners who want PromQL on a live run.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, launch, startOnPickedPorts, waitFor, waitForPort, type ManagedProcess } from '../../infra/processes.js';
import { repoRoot } from '../../infra/paths.js';

export const prometheusBin = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const promtoolBin = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';
export const alertRulesFile = join(repoRoot, 'docs', 'alerts.yml');

export interface PrometheusAlertRule {
  name: string;
  query: string;
  state: 'inactive' | 'pending' | 'firing';
  health: string;
  lastError?: string;
  labels: Record<string, string>;
  /** Active alerts, with the expression's value (as text) at the last evaluation. */
  alerts: { labels: Record<string, string>; state: string; activeAt: string; value: string }[];
}

export interface PrometheusServer {
  url: string;
  process: ManagedProcess;
  /** Instant query: the result vector. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  /** The alerting rules with their state (inactive, pending, firing) and expression. */
  rules(): Promise<PrometheusAlertRule[]>;
  stop(): Promise<void>;
}

/** `jobs`: job name → host:port targets serving /metrics. */
export async function startPrometheus(opts: { jobs: Record<string, string[]>; rules?: string[]; intervalS?: number; dir?: string }): Promise<PrometheusServer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'crm-prometheus-'));
  const interval = `${opts.intervalS ?? 1}s`;
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'rule_files:',
    ...(opts.rules ?? [alertRulesFile]).map((file) => `  - ${JSON.stringify(file)}`),
    'scrape_configs:',
    ...Object.entries(opts.jobs).flatMap(([job, targets]) => [
      `  - job_name: ${JSON.stringify(job)}`,
      '    static_configs:',
      `      - targets: ${JSON.stringify(targets)}`,
    ]),
  ].join('\n');
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, `${config}\n`);
  // A port picked free may be taken before Prometheus binds it: then it picks again (PortTakenError).
  const { proc, port } = await startOnPickedPorts(1, freePorts, async ([picked]) => {
    const started = launch('prometheus', prometheusBin, [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${picked}`,
      '--log.level=warn',
    ], { logFile: join(dir, 'prometheus.log') });
    await waitForPort(started, picked!);
    return { proc: started, port: picked! };
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`prometheus ready (log: ${proc.logFile})`, async () => (await fetch(`${url}/-/ready`)).ok);

  const api = async (path: string) => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data: any; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    process: proc,
    async query(expr) {
      const data = await api(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async rules() {
      const data = await api('/api/v1/rules?type=alert');
      return (data.groups as { rules: any[] }[]).flatMap((g) => g.rules);
    },
    stop: () => proc.stop(),
  };
}
