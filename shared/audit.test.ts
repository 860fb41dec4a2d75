import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendAudit, readAudit, verifyAuditLog } from './audit.js';

const freshLog = () => join(mkdtempSync(join(tmpdir(), 'audit-test-')), 'audit.log');

/** A log of four entries, as an operator's tools would write it. */
function fourEntries(): string {
  const file = freshLog();
  appendAudit({ action: 'dlq.show', target: 'crm-events-dlq/0/3', actor: 'alice' }, file);
  appendAudit({ action: 'dlq.replay', target: 'crm-events-dlq', details: { offsets: ['0/3'] }, actor: 'alice' }, file);
  appendAudit({ action: 'erase', target: 'user-42', details: { keys_deleted: ['k1'] }, actor: 'bob' }, file);
  appendAudit({ action: 'dlq.show', target: 'crm-events-dlq/0/4', actor: 'carol' }, file);
  return file;
}

const linesOf = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

describe('shared/audit.ts', () => {
  it('appends one JSON line per entry, each chained to the line before, and an intact log verifies', () => {
    const file = fourEntries();
    const records = readAudit(file);
    expect(records.map((r) => [r.actor, r.action, r.target])).toEqual([
      ['alice', 'dlq.show', 'crm-events-dlq/0/3'], ['alice', 'dlq.replay', 'crm-events-dlq'], ['bob', 'erase', 'user-42'], ['carol', 'dlq.show', 'crm-events-dlq/0/4'],
    ]);
    expect(records[0]!.prev).toBe('0'.repeat(64));
    expect(new Set(records.map((r) => r.prev)).size).toBe(4);
    expect(records[2]!.details).toEqual({ keys_deleted: ['k1'] });
    expect(verifyAuditLog(file)).toEqual([]);
  });

  it('an edited line breaks the chain at the line after it', () => {
    const file = fourEntries();
    const lines = linesOf(file);
    lines[1] = lines[1]!.replace('"actor":"alice"', '"actor":"mallory"');
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect(verifyAuditLog(file)).toEqual([3]);
  });

  it('a deleted line breaks the chain where it was', () => {
    const file = fourEntries();
    const lines = linesOf(file);
    lines.splice(2, 1); // bob's erase
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect(verifyAuditLog(file)).toEqual([3]);
  });

  it('a line re-chained after an edit still shows: the chain breaks at the line that follows it', () => {
    const file = fourEntries();
    const lines = linesOf(file);
    // Editing line 2 and fixing line 3's `prev` to match moves the break to line 4.
    lines[1] = lines[1]!.replace('"0/3"', '"0/9"');
    const third = JSON.parse(lines[2]!) as { prev: string };
    third.prev = createHash('sha256').update(lines[1]!).digest('hex');
    lines[2] = JSON.stringify(third);
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect(verifyAuditLog(file)).toEqual([4]);
  });
});
