import { describe, expect, it } from 'vitest';
import { packageOf, summarizeProfiles, type CpuProfile } from './cpuprofile.js';

const root = '/repo';
const frame = (id: number, functionName: string, url: string, lineNumber = 0) => ({ id, callFrame: { functionName, url, lineNumber } });

/**
 * Six samples 1 ms apart from t=1000 µs, charged until the next one (the last until endTime 7000):
 * idle 1 ms, kafkajs' encode 2 ms (reached through two call-tree nodes), our worker 1 ms,
 * better-sqlite3's native run 1 ms, Node's core 1 ms.
 */
const profile: CpuProfile = {
  nodes: [
    frame(1, '(root)', ''),
    frame(2, '(idle)', ''),
    frame(3, 'encode', 'file:///repo/node_modules/kafkajs/src/protocol/encoder.js', 9),
    frame(4, 'encode', 'file:///repo/node_modules/kafkajs/src/protocol/encoder.js', 9),
    frame(5, 'processBatch', 'file:///repo/labs/02-consumer-groups/src/worker.ts', 41),
    frame(6, 'run', ''),
    frame(7, 'writeGeneric', 'node:internal/stream_base_commons', 100),
  ],
  startTime: 0,
  endTime: 7_000,
  samples: [2, 3, 4, 5, 6, 7],
  timeDeltas: [1_000, 1_000, 1_000, 1_000, 1_000, 1_000],
};

describe('summarizeProfiles', () => {
  it('charges each sample the time to the next one and merges a function reached through several call paths', () => {
    const s = summarizeProfiles([profile], { repoRoot: root });
    expect(s.totalMs).toBe(6);
    expect(s.idleMs).toBe(1);
    expect(s.busyMs).toBe(5);
    expect(s.functions[0]).toEqual({ functionName: 'encode', location: 'kafkajs/src/protocol/encoder.js:10', package: 'kafkajs', selfMs: 2, percent: 40 });
    expect(s.functions.map((f) => f.package)).toEqual(['kafkajs', 'ours: labs/02-consumer-groups/src/worker.ts', '(native)', 'node:internal']);
    expect(s.functions.find((f) => f.functionName === 'processBatch')?.location).toBe('labs/02-consumer-groups/src/worker.ts');
  });

  it('sums packages over several profiles and leaves idle time out of the percentages', () => {
    const s = summarizeProfiles([profile, profile], { repoRoot: root });
    expect(s.busyMs).toBe(10);
    expect(s.packages[0]).toEqual({ package: 'kafkajs', selfMs: 4, percent: 40 });
    expect(s.packages.reduce((sum, p) => sum + p.percent, 0)).toBeCloseTo(100);
  });

  it('counts only the samples inside the window', () => {
    const s = summarizeProfiles([profile], { repoRoot: root, window: { fromUs: 2_000, toUs: 4_000 } });
    expect(s.functions.map((f) => [f.functionName, f.selfMs])).toEqual([['encode', 2]]);
  });
});

describe('packageOf', () => {
  it('names scoped packages, the innermost node_modules, Node core and pseudo-frames', () => {
    expect(packageOf('file:///repo/node_modules/@fastify/rate-limit/index.js', 'f', root)).toBe('@fastify/rate-limit');
    expect(packageOf('file:///repo/node_modules/fastify/node_modules/pino/lib/proto.js', 'f', root)).toBe('pino');
    expect(packageOf('node:zlib', 'f', root)).toBe('node:internal');
    expect(packageOf('', '(garbage collector)', root)).toBe('(garbage collector)');
    expect(packageOf('/repo/shared/trace.ts', 'f', root)).toBe('ours: shared/trace.ts');
  });
});
