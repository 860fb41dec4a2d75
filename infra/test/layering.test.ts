/**
 * The layering the labs rely on: `shared/` and `infra/` serve the labs and never import from one
 * (a lab can then be read, or cut out for learner mode, without the rest depending on it).
 * Tests of the assembled system, which do import labs, live in system/test/.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../paths.js';

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (entry === 'node_modules' || entry.startsWith('.')) return [];
    return statSync(path).isDirectory() ? tsFiles(path) : entry.endsWith('.ts') ? [path] : [];
  });
}

/** `file: specifier` for each import (static or dynamic) of `file` that resolves into labs/. */
function labImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)]
    .map((m) => m[1]!)
    .filter((specifier) => relative(repoRoot, resolve(dirname(file), specifier)).startsWith('labs/'))
    .map((specifier) => `${relative(repoRoot, file)}: ${specifier}`);
}

describe('layering', () => {
  it('nothing in shared/ or infra/ imports from a lab', () => {
    const files = ['shared', 'infra'].flatMap((dir) => tsFiles(join(repoRoot, dir)));
    expect(files.length).toBeGreaterThan(50);
    expect(files.flatMap(labImports)).toEqual([]);
  });
});
