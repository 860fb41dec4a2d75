import { parseRegions, mentionsRegions, type Region } from './regions.js';

/** What replaces a region's code in the skeleton: its `stub:` lines, else a throw naming the task. */
export function stubLines(region: Region): string[] {
  const stub = region.stub.length ? region.stub : [`throw new Error(${JSON.stringify(`TODO(lab ${region.lab}): ${region.task}`)});`];
  return stub.map((line) => region.indent + line);
}

/**
 * The file as the learner gets it: each region of `lab` keeps its opening and closing lines (so the
 * learner sees where to write, and `learn diff` finds the code again) with its hints and reference
 * code replaced by the stub. Regions of other labs are left as they are (solved). With `checkpoint`,
 * only that checkpoint's regions are stubbed (CI: do its tests fail because of its own code?).
 */
export function skeletonOf(text: string, lab: string, file = '<text>', checkpoint?: string): { text: string; regions: Region[] } {
  if (!mentionsRegions(text)) return { text, regions: [] };
  const regions = parseRegions(text, file).filter((r) => r.lab === lab && (checkpoint === undefined || r.checkpoint === checkpoint));
  if (regions.length === 0) return { text, regions };
  const lines = text.split('\n');
  const out: string[] = [];
  let next = 0;
  for (const r of regions) {
    out.push(...lines.slice(next, r.openLine + 1), ...stubLines(r), lines[r.closeLine]!);
    next = r.closeLine + 1;
  }
  out.push(...lines.slice(next));
  return { text: out.join('\n'), regions };
}

/** Labs are named by their two digits ("01") or their folder ("01-ingest"). */
export function labNumber(name: string): string {
  const match = /^(\d\d)(?:-[a-z0-9-]+)?$/.exec(name);
  if (!match) throw new Error(`"${name}" is not a lab: name it by its number (01) or its folder (01-ingest)`);
  return match[1]!;
}
