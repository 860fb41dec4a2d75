/**
 * The SCRAM passwords of the lab's Kafka users: one random password per user, each in its own file
 * (mode 0600) under `.run/kafka-secrets/` (git-ignored), made on first use and reused after. A
 * process is given the path (KAFKA_SASL_PASSWORD_FILE), not the password: a path in its
 * environment gives nothing away.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const defaultSecretsDir = fileURLToPath(new URL('../../../.run/kafka-secrets', import.meta.url));

export interface KafkaSecrets {
  dir: string;
  /** user → password */
  passwords: Record<string, string>;
  /** user → the file holding its password */
  files: Record<string, string>;
  /** The users whose password was made by this call. */
  created: string[];
}

/** Reads each user's password file, creating the missing ones (24 random bytes, base64url). */
export function ensureKafkaSecrets(users: readonly string[], dir = defaultSecretsDir): KafkaSecrets {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const secrets: KafkaSecrets = { dir, passwords: {}, files: {}, created: [] };
  for (const user of users) {
    const file = join(dir, `${user}.password`);
    if (!existsSync(file)) {
      writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
      secrets.created.push(user);
    }
    secrets.files[user] = file;
    secrets.passwords[user] = readFileSync(file, 'utf8').split('\n')[0]!.trim();
  }
  return secrets;
}
