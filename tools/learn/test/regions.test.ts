import { describe, expect, it } from 'vitest';
import { parseRegions } from '../regions.js';

const lines = (...l: string[]) => l.join('\n');

describe('parseRegions', () => {
  it('reads the lab, checkpoint, task, hints, stub and reference code of each region, in order', () => {
    const text = lines(
      'export function f(x: number): number {',
      '  // #region solution 01:double-it — Return twice x',
      '  // hint: multiply',
      '  // hint: by two',
      '  // stub: return 0;',
      '  return x * 2;',
      '  // #endregion solution',
      '}',
      '// #region solution 02:other — Something else',
      'const y = 1;',
      '// #endregion solution',
    );
    const [a, b, ...rest] = parseRegions(text, 'f.ts');
    expect(rest).toEqual([]);
    expect(a).toMatchObject({
      lab: '01', checkpoint: 'double-it', task: 'Return twice x', hints: ['multiply', 'by two'], stub: ['return 0;'],
      indent: '  ', openLine: 1, bodyStart: 5, closeLine: 6, body: ['  return x * 2;'],
    });
    expect(b).toMatchObject({ lab: '02', checkpoint: 'other', hints: [], stub: [], indent: '', body: ['const y = 1;'] });
  });

  it('takes hint and stub lines only right after the opening line; later ones are reference code', () => {
    const [r] = parseRegions(lines('// #region solution 03:x — T', '// hint: h', 'code();', '// hint: not a hint', '// #endregion solution'));
    expect(r!.hints).toEqual(['h']);
    expect(r!.body).toEqual(['code();', '// hint: not a hint']);
  });

  it('refuses a region opened inside another, naming both lines', () => {
    const text = lines('// #region solution 01:a — A', 'x();', '// #region solution 01:b — B', '// #endregion solution', '// #endregion solution');
    expect(() => parseRegions(text, 'app.ts')).toThrow('app.ts:3: region 01:a (opened on line 1) is not closed before this one opens; regions do not nest');
  });

  it('refuses a region that is never closed, naming where it opened', () => {
    expect(() => parseRegions(lines('a();', '  // #region solution 01:a — A', 'x();'), 'app.ts')).toThrow('app.ts:2: region 01:a is never closed');
  });

  it('refuses a closing line without an opening one, and a malformed opening line', () => {
    expect(() => parseRegions(lines('x();', '// #endregion solution'), 'w.ts')).toThrow('w.ts:2: `// #endregion solution` without an open region');
    expect(() => parseRegions('// #region solution 1:a — A\n// #endregion solution', 'w.ts')).toThrow('w.ts:1: malformed region line');
    expect(() => parseRegions('// #region solution 01:a\n// #endregion solution', 'w.ts')).toThrow('w.ts:1: malformed region line');
  });

  it('ignores the words in code that is not a line comment (a string, a test of this parser)', () => {
    expect(parseRegions("const s = '#region solution';\nconst t = `// #endregion solution x`;")).toEqual([]);
  });
});
