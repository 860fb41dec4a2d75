import { describe, expect, it } from 'vitest';
import type { Checkpoint } from '../checkpoints.js';
import { gradingRuns } from '../run-checkpoints.js';

const cp = (id: string, runtime?: 'native'): Checkpoint => ({ id, tests: [{ file: `labs/07-x/test/${id}.test.ts`, title: id }], ...(runtime ? { runtime } : {}) });

describe('which vitest runs grade the checkpoints', () => {
  const checkpoints = [cp('write-key-check'), cp('least-privilege', 'native'), cp('seal-pii')];

  it('on the native runtime: one run, as LAB_RUNTIME says', () => {
    for (const env of [{}, { LAB_RUNTIME: 'native' }]) {
      expect(gradingRuns(checkpoints, env)).toEqual([{ checkpoints, env }]);
    }
  });

  it('on containers: a checkpoint needing the native runtime runs apart with LAB_RUNTIME=native, the others on containers', () => {
    const env = { LAB_RUNTIME: 'containers', PATH: '/bin' };
    expect(gradingRuns(checkpoints, env)).toEqual([
      { checkpoints: [checkpoints[0], checkpoints[2]], env },
      { checkpoints: [checkpoints[1]], env: { LAB_RUNTIME: 'native', PATH: '/bin' } },
    ]);
    expect(gradingRuns([checkpoints[1]!], env)).toEqual([{ checkpoints: [checkpoints[1]], env: { LAB_RUNTIME: 'native', PATH: '/bin' } }]);
  });
});
