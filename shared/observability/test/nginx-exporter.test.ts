/**
 * The nginx exporter's reading of the error log, on real files: what it counts after a restart,
 * on appends, and after the log is rotated or truncated. (The count against a live nginx burst is
 * in metrics.test.ts.)
 */
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { errorLogTail } from '../nginx-exporter.js';

const rejection = (n: number) =>
  `2026/01/01 00:00:0${n % 10} [warn] 12#12: *${n} limiting requests, excess: 50.020 by zone "per_ip", client: 127.0.0.2, server: , request: "POST /track HTTP/1.1"\n`;
const other = '2026/01/01 00:00:00 [notice] 12#12: signal process started\n';
const lines = (from: number, count: number) => Array.from({ length: count }, (_, i) => rejection(from + i)).join('');

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const logIn = () => {
  dir = mkdtempSync(join(tmpdir(), 'nginx-exporter-'));
  return join(dir, 'error.log');
};

describe('nginx exporter: error log tail', () => {
  it('counts only the rejections written after it started, so a restarted exporter does not recount the log', () => {
    const log = logIn();
    writeFileSync(log, other + lines(1, 3));
    const restarted = errorLogTail(log);
    expect(restarted()).toBe(0);
    appendFileSync(log, lines(4, 2) + other);
    expect(restarted()).toBe(2);
    expect(restarted()).toBe(0);
  });

  it('counts a log that appears after it started from its first line', () => {
    const log = logIn();
    const tail = errorLogTail(log);
    expect(tail()).toBe(0);
    writeFileSync(log, lines(1, 3));
    expect(tail()).toBe(3);
  });

  it('counts a line written in two parts once, when it is complete', () => {
    const log = logIn();
    writeFileSync(log, '');
    const tail = errorLogTail(log);
    const line = rejection(1);
    appendFileSync(log, line.slice(0, 40));
    expect(tail()).toBe(0);
    appendFileSync(log, line.slice(40));
    expect(tail()).toBe(1);
  });

  it('after a rotation (a new file under the name, even one larger than the read position) counts the new file from its start', () => {
    const log = logIn();
    writeFileSync(log, lines(1, 2));
    const tail = errorLogTail(log);
    appendFileSync(log, lines(3, 1));
    expect(tail()).toBe(1);
    renameSync(log, `${log}.1`);
    writeFileSync(log, lines(10, 5));
    expect(tail()).toBe(5);
  });

  it('after a truncation counts the file from its start', () => {
    const log = logIn();
    writeFileSync(log, lines(1, 4));
    const tail = errorLogTail(log);
    writeFileSync(log, lines(20, 1));
    expect(tail()).toBe(1);
  });
});
