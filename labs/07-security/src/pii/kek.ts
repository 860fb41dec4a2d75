/**
 * The key-encryption key (KEK): 256 random bits in a file outside Kafka and outside the key
 * store, created with mode 0600 on first use. Whoever holds it and the key store can read every
 * user's PII; whoever holds only the topics (or their backups) can read none.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const KEK_BYTES = 32;

/** PII_KEK_FILE, or .run/secrets/pii-kek beside the running stack's data. */
export function kekPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PII_KEK_FILE ?? join(env.CRM_LAB_RUN_DIR ?? join(process.cwd(), '.run'), 'secrets', 'pii-kek');
}

/** Reads the KEK (hex), creating it (0600, in a 0700 directory) when the file does not exist. */
export function loadOrCreateKek(file = kekPath()): Buffer {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // 'wx': two processes starting at once do not overwrite each other's key; the loser reads the winner's.
    try {
      writeFileSync(file, `${randomBytes(KEK_BYTES).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const mode = statSync(file).mode & 0o777;
  // As ssh does with a private key: one that others could have read is refused, not used.
  if (mode & 0o077) throw new Error(`${file} has mode ${mode.toString(8)}; the KEK must be readable by its owner only (chmod 600 ${file})`);
  const kek = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  if (kek.length !== KEK_BYTES) throw new Error(`${file} does not hold a ${KEK_BYTES}-byte hex key`);
  return kek;
}
