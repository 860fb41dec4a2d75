/**
 * An append-only audit log of data access (DLQ show/replay, erase, key management): one JSON line
 * per entry, each carrying the SHA-256 of the line before it, so an edited or deleted line breaks
 * the chain that `verifyAuditLog` walks. Opened with O_APPEND: writers never rewrite earlier lines.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';

export interface AuditEntry {
  /** Who: the OS user, or AUDIT_ACTOR when a tool acts for someone else. */
  actor: string;
  /** What was done, e.g. `dlq.replay`, `erase`, `keys.create`. */
  action: string;
  /** To what: a user id, a key id, a topic/offset. */
  target: string;
  details?: Record<string, unknown>;
}

export interface AuditRecord extends AuditEntry {
  at: string;
  /** SHA-256 of the previous line, or 64 zeros for the first. */
  prev: string;
}

const GENESIS = '0'.repeat(64);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The audit log's path: AUDIT_LOG, or .run/audit.log beside the running stack's data. */
export function auditLogPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.AUDIT_LOG ?? join(env.CRM_LAB_RUN_DIR ?? join(process.cwd(), '.run'), 'audit.log');
}

export const defaultActor = (env: NodeJS.ProcessEnv = process.env) => env.AUDIT_ACTOR ?? userInfo().username;

function lastLineOf(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return lines.at(-1);
}

/** Appends one entry and returns the record written. */
export function appendAudit(entry: Omit<AuditEntry, 'actor'> & { actor?: string }, file = auditLogPath()): AuditRecord {
  mkdirSync(dirname(file), { recursive: true });
  const last = lastLineOf(file);
  const record: AuditRecord = { at: new Date().toISOString(), actor: entry.actor ?? defaultActor(), action: entry.action, target: entry.target,
    ...(entry.details ? { details: entry.details } : {}), prev: last === undefined ? GENESIS : sha256(last) };
  appendFileSync(file, `${JSON.stringify(record)}\n`, { flag: 'a' });
  return record;
}

export function readAudit(file = auditLogPath()): AuditRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditRecord);
}

/** The line numbers (1-based) whose `prev` does not match the line before: empty for an intact log. */
export function verifyAuditLog(file = auditLogPath()): number[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const broken: number[] = [];
  lines.forEach((line, i) => {
    const expected = i === 0 ? GENESIS : sha256(lines[i - 1]!);
    if ((JSON.parse(line) as AuditRecord).prev !== expected) broken.push(i + 1);
  });
  return broken;
}
