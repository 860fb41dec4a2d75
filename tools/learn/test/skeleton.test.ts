import { describe, expect, it } from 'vitest';
import { labNumber, skeletonOf } from '../skeleton.js';

const reference = [
  "import { a } from './a.js';",
  'export function one(x: number): number {',
  '  // #region solution 01:double — Return twice x',
  '  // hint: multiply by two',
  '  return x * 2;',
  '  // #endregion solution',
  '}',
  'export function two(): string[] {',
  '    // #region solution 01:list — List the things',
  '    // stub: return [];',
  "    return ['a', 'b'];",
  '    // #endregion solution',
  '}',
  'export function three(): number {',
  '  // #region solution 02:later — A later lab',
  '  // hint: keep me',
  '  return 3;',
  '  // #endregion solution',
  '}',
].join('\n');

describe('skeletonOf', () => {
  it("replaces each of the lab's regions by its stub, keeping the region's lines so the learner finds it", () => {
    const { text, regions } = skeletonOf(reference, '01', 'x.ts');
    expect(regions.map((r) => r.checkpoint)).toEqual(['double', 'list']);
    expect(text.split('\n').slice(1, 11)).toEqual([
      'export function one(x: number): number {',
      '  // #region solution 01:double — Return twice x',
      '  throw new Error("TODO(lab 01): Return twice x");',
      '  // #endregion solution',
      '}',
      'export function two(): string[] {',
      '    // #region solution 01:list — List the things',
      '    return [];',
      '    // #endregion solution',
      '}',
    ]);
    expect(text).not.toContain('x * 2');
    expect(text).not.toContain('multiply by two'); // hints are handed out by `learn hint`, one at a time
  });

  it("leaves other labs' regions exactly as they are (solved)", () => {
    const { text } = skeletonOf(reference, '01');
    expect(text.split('\n').slice(-6).join('\n')).toBe(reference.split('\n').slice(-6).join('\n'));
    expect(skeletonOf(reference, '03')).toEqual({ text: reference, regions: [] });
  });

  it("with a checkpoint, stubs only that checkpoint's regions (CI: its tests fail because of its own code)", () => {
    const { text, regions } = skeletonOf(reference, '01', 'x.ts', 'list');
    expect(regions.map((r) => r.checkpoint)).toEqual(['list']);
    expect(text).toContain('x * 2');
    expect(text).not.toContain("return ['a', 'b'];");
  });

  it('returns a file without regions unchanged, and refuses a broken one with its file and line', () => {
    expect(skeletonOf('const a = 1;\n', '01').text).toBe('const a = 1;\n');
    expect(() => skeletonOf('// #region solution 01:a — A\nx();\n', '01', 'labs/x.ts')).toThrow('labs/x.ts:1: region 01:a is never closed');
  });
});

describe('labNumber', () => {
  it('takes a lab by number or folder name, and refuses anything else', () => {
    expect(labNumber('01')).toBe('01');
    expect(labNumber('04-dlq')).toBe('04');
    expect(() => labNumber('ingest')).toThrow('"ingest" is not a lab');
  });
});
