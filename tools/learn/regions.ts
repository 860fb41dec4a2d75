/**
 * Solution regions: the parts of the reference code a learner writes in learner mode.
 *
 *   // #region solution 01:ack-before-202 — Publish the event; answer 202 only after Kafka acked it
 *   // hint: the first hint (shown by `npm run learn -- hint`, one at a time)
 *   // stub: return { ok: true, event: input as CRMEvent };   (optional: what replaces the code)
 *   …the reference code…
 *   // #endregion solution
 *
 * Plain line comments, so tsc and the reference code ignore them. `hint:` and `stub:` lines must
 * follow the opening line directly; without a `stub:` the code is replaced by a throw of
 * `TODO(lab NN): <task>`. Regions do not nest.
 */

export interface Region {
  /** Two digits: the lab whose learner writes this region. */
  lab: string;
  /** The checkpoint it belongs to (a checkpoint may span several regions). */
  checkpoint: string;
  task: string;
  hints: string[];
  /** Lines replacing the body in the skeleton, without indentation; empty: the default throw. */
  stub: string[];
  /** The opening line's indentation, used for the stub. */
  indent: string;
  /** 0-based line indexes: the opening line, the first body line, and the closing line. */
  openLine: number;
  bodyStart: number;
  closeLine: number;
  /** The reference code between the header and the closing line. */
  body: string[];
}

export class RegionError extends Error {
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line + 1}: ${message}`);
    this.name = 'RegionError';
  }
}

const OPEN = /^(\s*)\/\/ #region solution (\d\d):([a-z0-9][a-z0-9-]*) — (\S.*)$/;
const HEADER = /^\s*\/\/ (hint|stub):(?: (.*))?$/;
const CLOSE = /^\s*\/\/ #endregion solution\s*$/;
const MENTION = /#(end)?region solution/;

/** The regions of one file, in order; refuses malformed, nested and unterminated ones. */
export function parseRegions(text: string, file = '<text>'): Region[] {
  const lines = text.split('\n');
  const regions: Region[] = [];
  let open: Region | undefined;
  let inHeader = false;
  for (const [i, line] of lines.entries()) {
    const opening = OPEN.exec(line);
    if (opening) {
      if (open) throw new RegionError(file, i, `region ${open.lab}:${open.checkpoint} (opened on line ${open.openLine + 1}) is not closed before this one opens; regions do not nest`);
      const [, indent, lab, checkpoint, task] = opening;
      open = { lab: lab!, checkpoint: checkpoint!, task: task!.trim(), hints: [], stub: [], indent: indent!, openLine: i, bodyStart: i + 1, closeLine: -1, body: [] };
      inHeader = true;
      continue;
    }
    if (CLOSE.test(line)) {
      if (!open) throw new RegionError(file, i, '`// #endregion solution` without an open region');
      open.closeLine = i;
      regions.push(open);
      open = undefined;
      continue;
    }
    if (MENTION.test(line) && /^\s*\/\//.test(line)) {
      throw new RegionError(file, i, 'malformed region line; write `// #region solution NN:checkpoint-id — task` or `// #endregion solution`');
    }
    if (!open) continue;
    const header = inHeader ? HEADER.exec(line) : null;
    if (header) {
      (header[1] === 'hint' ? open.hints : open.stub).push(header[2] ?? '');
      open.bodyStart = i + 1;
      continue;
    }
    inHeader = false;
    open.body.push(line);
  }
  if (open) throw new RegionError(file, open.openLine, `region ${open.lab}:${open.checkpoint} is never closed (\`// #endregion solution\` missing)`);
  return regions;
}

/** Whether the text has any region line at all (a quick filter before parsing). */
export const mentionsRegions = (text: string) => text.includes('#region solution');
