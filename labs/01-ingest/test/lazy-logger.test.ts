import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { lazyChildLogger } from '../src/lazy-logger.js';

/** A real pino logger writing its lines into an array. */
function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk, _encoding, callback) { lines.push(JSON.parse(String(chunk))); callback(); } });
  return { log: pino({ level }, sink), lines };
}

describe('a request logger made lazily', () => {
  it('writes the same line as a pino child, with the request id bound, and nothing below its level', async () => {
    const { log, lines } = capture('info');
    let children = 0;
    const counted = Object.assign(Object.create(log), { child: (...args: Parameters<typeof log.child>) => { children++; return log.child(...args); } });
    const quiet = lazyChildLogger(counted, { reqId: 'r-1' }, {});
    quiet.debug({ a: 1 }, 'below the level');
    expect(children).toBe(0);
    const loud = lazyChildLogger(counted, { reqId: 'r-2' }, {});
    loud.warn({ status: 503 }, 'refused');
    loud.info('again');
    await new Promise((resolve) => setImmediate(resolve));
    expect(children).toBe(1);
    expect(lines.map((l) => [l.reqId, l.msg, l.level])).toEqual([['r-2', 'refused', 40], ['r-2', 'again', 30]]);
    expect(lines[0]!.status).toBe(503);
  });
});
