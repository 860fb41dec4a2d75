/**
 * `node --cpu-prof` for a component started by infra/ (through tsx). Node 20 refuses `--cpu-prof`
 * in NODE_OPTIONS, so NODE_OPTIONS loads cpu-prof-preload.cjs instead, which does the same with the
 * inspector's profiler. tsx's own process and the process running our code each write a profile
 * when they exit normally (a SIGTERM handled by the component's graceful stop, then process.exit).
 * Only the profiles that ran repository code are kept: tsx's launcher process is not the component.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CpuProfile } from './cpuprofile.js';

const preload = fileURLToPath(new URL('./cpu-prof-preload.cjs', import.meta.url));

/** The environment that makes a Node child write its profile into `dir` on exit. */
export function cpuProfEnv(dir: string): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  return { CPU_PROF_DIR: dir, NODE_OPTIONS: [process.env.NODE_OPTIONS ?? '', `--require ${preload}`].join(' ').trim() };
}

/**
 * Now, in µs on the clock V8 stamps profiles with: both it and process.hrtime read CLOCK_MONOTONIC
 * on Linux, so a window measured here selects samples in another process's profile.
 */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** The profiles in `dir` that sampled code under `repoRoot` (the component's own process). */
export function readComponentProfiles(dir: string, repoRoot: string): CpuProfile[] {
  return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile)
    .filter((p) => p.nodes.some((n) => n.callFrame.url.includes(`${repoRoot}/labs/`) || n.callFrame.url.includes(`${repoRoot}/shared/`)));
}
