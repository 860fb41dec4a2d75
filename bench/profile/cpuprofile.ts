/**
 * Reads V8 `.cpuprofile` files (what `node --cpu-prof` writes) into self time per function and per
 * package. A pure function of the profile: no files, no clocks, so a hand-made profile tests it.
 *
 * Format: `nodes` (each a call-tree node: `callFrame {functionName, url, lineNumber}`), `samples`
 * (the node on top of the stack at each tick) and `timeDeltas` (µs since the previous sample).
 * A sample is charged the time until the next sample (the last one: until `endTime`), as Chrome's
 * DevTools does. The same function reached through different call paths is one row.
 */

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number; scriptId?: string | number };
  children?: number[];
  hitCount?: number;
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  /** µs on the profiled process's monotonic clock (CLOCK_MONOTONIC on Linux). */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionRow {
  functionName: string;
  /** Where it is: `file.ts:line` relative to the package or repo, or the V8 pseudo-frame. */
  location: string;
  package: string;
  selfMs: number;
  /** Of the busy time (everything but `(idle)`). */
  percent: number;
}

export interface PackageRow {
  package: string;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  /** Profiled time within the window, idle included. */
  totalMs: number;
  idleMs: number;
  busyMs: number;
  samples: number;
  functions: FunctionRow[];
  packages: PackageRow[];
}

export interface SummaryOptions {
  /** The repository's root as a path (`/work/main`): files under it are `ours: <path>`. */
  repoRoot: string;
  /** Only samples taken in [fromUs, toUs) on the profile's clock (e.g. the load, not the start-up). */
  window?: { fromUs: number; toUs: number };
}

/** V8's pseudo-frames: not code, but where the time went. */
const PSEUDO = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** The package a frame belongs to: node_modules/<pkg> (scoped too), `node:internal` for Node's core, `ours: <path>` for repo files. */
export function packageOf(url: string, functionName: string, repoRoot: string): string {
  if (url === '') return PSEUDO.has(functionName) ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = path.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const root = repoRoot.endsWith('/') ? repoRoot : `${repoRoot}/`;
  if (path.startsWith(root)) return `ours: ${path.slice(root.length)}`;
  return path;
}

function locationOf(url: string, functionName: string, lineNumber: number, pkg: string): string {
  if (url === '') return PSEUDO.has(functionName) ? '' : '(native)';
  // tsx runs our files transformed: V8's line numbers are the transformed code's, so only the file is named.
  if (pkg.startsWith('ours: ')) return pkg.slice('ours: '.length);
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const nm = path.lastIndexOf('/node_modules/');
  const short = nm >= 0 ? path.slice(nm + '/node_modules/'.length) : path;
  return `${short}:${lineNumber + 1}`;
}

/** Self time per function and per package over one or more profiles (several processes of one component add up). */
export function summarizeProfiles(profiles: CpuProfile[], o: SummaryOptions): ProfileSummary {
  const byFunction = new Map<string, { functionName: string; location: string; package: string; us: number }>();
  let totalUs = 0;
  let idleUs = 0;
  let samples = 0;
  for (const profile of profiles) {
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    let at = profile.startTime;
    const times = profile.samples.map((_, i) => (at += profile.timeDeltas[i] ?? 0));
    for (let i = 0; i < profile.samples.length; i++) {
      const t = times[i]!;
      if (o.window && (t < o.window.fromUs || t >= o.window.toUs)) continue;
      const next = i + 1 < times.length ? times[i + 1]! : profile.endTime;
      const us = Math.max(0, (o.window ? Math.min(next, o.window.toUs) : next) - t);
      const node = nodes.get(profile.samples[i]!);
      if (!node) continue;
      const { functionName, url, lineNumber } = node.callFrame;
      const name = functionName || '(anonymous)';
      const pkg = packageOf(url, name, o.repoRoot);
      const key = `${name}\u0000${url}\u0000${lineNumber}`;
      const row = byFunction.get(key) ?? { functionName: name, location: locationOf(url, name, lineNumber, pkg), package: pkg, us: 0 };
      row.us += us;
      byFunction.set(key, row);
      totalUs += us;
      samples++;
      if (name === '(idle)') idleUs += us;
    }
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number) => (busyUs > 0 ? (100 * us) / busyUs : 0);
  const busyRows = [...byFunction.values()].filter((r) => r.functionName !== '(idle)');
  const byPackage = new Map<string, number>();
  for (const r of busyRows) byPackage.set(r.package, (byPackage.get(r.package) ?? 0) + r.us);
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: busyUs / 1000,
    samples,
    functions: busyRows.sort((a, b) => b.us - a.us)
      .map((r) => ({ functionName: r.functionName, location: r.location, package: r.package, selfMs: r.us / 1000, percent: pct(r.us) })),
    packages: [...byPackage].sort((a, b) => b[1] - a[1]).map(([pkg, us]) => ({ package: pkg, selfMs: us / 1000, percent: pct(us) })),
  };
}
