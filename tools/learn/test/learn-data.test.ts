import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labsWithCheckpoints, loadCheckpoints } from '../checkpoints.js';
import { STATE_FILE, regionsByFile } from '../workspace.js';

const root = resolve(import.meta.dirname, '../../..');
const regions = [...regionsByFile(root).values()].flat();

// The reference's data: in a learner's workspace the regions hold stubs and no hints.
describe.skipIf(existsSync(join(root, STATE_FILE)))("the labs' learner-mode data", () => {
  it('every lab with solution regions has a learn.json, and every region belongs to one of its checkpoints', () => {
    const labs = labsWithCheckpoints(root);
    expect([...new Set(regions.map((r) => r.lab))].sort()).toEqual(labs);
    for (const r of regions) {
      expect(loadCheckpoints(root, r.lab).checkpoints.map((c) => c.id), `region ${r.lab}:${r.checkpoint}`).toContain(r.checkpoint);
    }
  });

  it('every checkpoint has a region and a hint, and names tests that exist, by a piece of their title as written', () => {
    for (const lab of labsWithCheckpoints(root)) {
      for (const c of loadCheckpoints(root, lab).checkpoints) {
        const mine = regions.filter((r) => r.lab === lab && r.checkpoint === c.id);
        expect(mine.length, `${lab}:${c.id} has no region`).toBeGreaterThan(0);
        expect(mine.flatMap((r) => r.hints).length, `${lab}:${c.id} has no hint`).toBeGreaterThan(0);
        for (const t of c.tests) {
          expect(existsSync(join(root, t.file)), t.file).toBe(true);
          const source = readFileSync(join(root, t.file), 'utf8').replace(/\\'/g, "'");
          expect(source, `${t.file} has no test titled "${t.title}"`).toContain(t.title);
        }
      }
    }
  });

  it('a checkpoint whose tests skip off the native runtime says so (runtime: native), so the grader runs them natively and it can pass on containers', () => {
    const skipsOffNative = /skipIf\(\s*(?:!native|labRuntime\(\)\s*!==\s*'native')\s*\)/;
    for (const lab of labsWithCheckpoints(root)) {
      for (const c of loadCheckpoints(root, lab).checkpoints) {
        const skipping = c.tests.filter((t) => skipsOffNative.test(readFileSync(join(root, t.file), 'utf8'))).map((t) => t.file);
        expect({ checkpoint: `${lab}:${c.id}`, runtime: skipping.length ? c.runtime : 'n/a' })
          .toEqual({ checkpoint: `${lab}:${c.id}`, runtime: skipping.length ? 'native' : 'n/a' });
      }
    }
  });
});
