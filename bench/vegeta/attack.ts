/**
 * An evenly paced, open-loop HTTP load from vegeta (a Go process of its own, cheap on CPU), for the
 * fixed-rate phases of the whole-system benches. Request i is due at start + i / rate whatever
 * happened to earlier ones (vegeta adds workers rather than waiting). Each request carries its own
 * body (a JSON targets file); every response is kept, so the caller can look each 202's event_id up.
 * vegeta's own CPU is read from its parent shell's cutime/cstime once it has exited (a process gone
 * from /proc can no longer be sampled), so the bench can report what the load generator cost.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '../../infra/paths.js';
import { latencyOf, type Latency } from '../stats.js';

/** Installs vegeta if missing (bench/vegeta/install.sh) and returns its path. */
export function vegetaBin(): string {
  return execFileSync('bash', [join(repoRoot, 'bench', 'vegeta', 'install.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export interface VegetaAttack {
  bin: string;
  url: string;
  /** Requests per second, evenly paced; 0 = as fast as `maxWorkers` concurrent requests go (closed loop). */
  rate: number;
  durationS: number;
  /** With rate 0: how many requests in flight at once (vegeta's -max-workers). */
  maxWorkers?: number;
  /** The JSON body of request i. */
  body: (i: number) => unknown;
  /** Where the targets and results files go. */
  workDir: string;
  name: string;
  /** Per-request timeout (vegeta's -timeout), default 30 s. */
  timeoutS?: number;
  /** The source address (vegeta's -laddr), e.g. 127.0.0.7: one client IP for nginx's and the API's per-IP limits. */
  localAddress?: string;
  /** Called for each result as it is read back: status (0: no answer), when sent (epoch ms), the body on demand. */
  onResult?: (code: number, sentAt: number, body: () => string) => void;
}

export interface VegetaResult {
  sent: number;
  /** Requests sent per second over the attack (what vegeta achieved of `rate`). */
  sentRate: number;
  /** 2xx responses per second, from the first send to the last response. */
  goodput: number;
  /** Latency of every answered request, ms. */
  latency: Latency;
  statuses: Record<string, number>;
  /** Requests with no HTTP answer (vegeta's code 0: connection error or timeout). */
  errors: number;
  /** Every 202 answer: its event_id and when its request was sent (epoch ms). */
  accepted: { id: string; sentAt: number }[];
  /** vegeta's own CPU (user + system), seconds. */
  cpuSeconds: number;
  wallS: number;
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Writes vegeta's JSON targets file: one line per request, each with its own base64 body. */
function writeTargets(o: VegetaAttack, count: number): string {
  const file = join(o.workDir, `${fileName(o.name)}.targets.json`);
  const header = { 'Content-Type': ['application/json'] };
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const body = Buffer.from(JSON.stringify(o.body(i))).toString('base64');
    lines.push(JSON.stringify({ method: 'POST', url: o.url, body, header }));
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/**
 * Runs the attack in its own process group (detached) and resolves once vegeta exited. `onStart`
 * gets the group id right after the spawn (for /proc accounting while it runs).
 */
export async function vegetaAttack(o: VegetaAttack, onStart?: (pgid: number) => void): Promise<VegetaResult> {
  // Closed loop: enough distinct bodies for about 10,000 req/s (vegeta loops over the file past its end).
  const count = Math.ceil((o.rate || 10_000) * o.durationS);
  const pace = o.rate > 0 ? [`-rate=${o.rate}/1s`] : ['-rate=0', `-max-workers=${o.maxWorkers ?? 50}`];
  const targets = writeTargets(o, count);
  const results = join(o.workDir, `${fileName(o.name)}.results.bin`);
  const attack = [o.bin, 'attack', '-format=json', `-targets=${targets}`, ...pace, `-duration=${o.durationS}s`,
    '-http2=false', `-timeout=${o.timeoutS ?? 30}s`, '-max-body=512', `-name=${o.name}`, `-output=${results}`,
    ...(o.localAddress ? [`-laddr=${o.localAddress}`] : [])].map(shellQuote).join(' ');
  // The shell waits for vegeta, then prints its own /proc stat, whose cutime/cstime now hold vegeta's CPU.
  const script = `${attack}; code=$?; read -r stat < /proc/$$/stat; echo "$stat" >&2; exit $code`;
  const started = performance.now();
  const child = spawn('bash', ['-c', script], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  onStart?.(child.pid!);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const wallS = (performance.now() - started) / 1000;
  const statLine = stderr.trim().split('\n').pop() ?? '';
  if (code !== 0) throw new Error(`vegeta attack failed (exit ${code}): ${stderr.slice(-2000)}`);
  const fields = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  // After "(comm)": utime 14, stime 15, cutime 16, cstime 17 (1-based over the whole line) → indexes 11..14 here.
  const cpuSeconds = (Number(fields[13]) + Number(fields[14])) / CLK_TCK;
  return { ...(await readResults(o, results)), cpuSeconds, wallS };
}

/** Decodes vegeta's results (vegeta encode --to json) into the figures the benches print. */
async function readResults(o: VegetaAttack, results: string): Promise<Omit<VegetaResult, 'cpuSeconds' | 'wallS'>> {
  const encoded = join(o.workDir, `${fileName(o.name)}.results.json`);
  execFileSync(o.bin, ['encode', '--to', 'json', `--output=${encoded}`, results]);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const accepted: { id: string; sentAt: number }[] = [];
  let sent = 0;
  let errors = 0;
  let ok = 0;
  let first = Infinity;
  let lastSent = -Infinity;
  let lastAnswered = -Infinity;
  for await (const line of createInterface({ input: createReadStream(encoded) })) {
    if (!line) continue;
    const r = JSON.parse(line) as { code: number; timestamp: string; latency: number; body: string; error: string };
    sent++;
    const at = Date.parse(r.timestamp); // ms precision is enough for rates over seconds
    first = Math.min(first, at);
    lastSent = Math.max(lastSent, at);
    o.onResult?.(r.code, at, () => Buffer.from(r.body ?? '', 'base64').toString());
    if (r.code === 0) {
      errors++;
      continue;
    }
    const latencyMs = r.latency / 1e6;
    latencies.push(latencyMs);
    lastAnswered = Math.max(lastAnswered, at + latencyMs);
    statuses[r.code] = (statuses[r.code] ?? 0) + 1;
    if (r.code >= 200 && r.code < 300) ok++;
    if (r.code === 202) {
      const id = (JSON.parse(Buffer.from(r.body, 'base64').toString()) as { event_id?: string }).event_id;
      if (id) accepted.push({ id, sentAt: at });
    }
  }
  const sendSpanS = Math.max(1e-3, (lastSent - first) / 1000);
  return {
    sent,
    sentRate: sent > 1 ? (sent - 1) / sendSpanS : sent,
    goodput: ok / Math.max(1e-3, (lastAnswered - first) / 1000),
    latency: latencyOf(latencies),
    statuses,
    errors,
    accepted,
  };
}

/** A phase name as a file name. */
const fileName = (name: string) => name.replace(/[^\w.-]+/g, '_');
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
