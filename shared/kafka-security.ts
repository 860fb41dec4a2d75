/**
 * How the lab's Kafka clients authenticate and encrypt, from the environment (lab 07). Nothing set:
 * PLAINTEXT, as labs 01–06 run. The API, the workers and the CLIs all build their client through
 * `createKafka`, so these variables secure every one of them without a code change:
 *
 * - KAFKA_SSL_CA_FILE: TLS, trusting only this CA (PEM). KAFKA_SSL=true: TLS trusting the system CAs.
 * - KAFKA_SASL_MECHANISM (scram-sha-512 | scram-sha-256 | plain), KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD
 *   or KAFKA_SASL_PASSWORD_FILE (the password is the file's first line).
 */
import { readFileSync } from 'node:fs';
import type { KafkaConfig, SASLOptions } from 'kafkajs';

export const saslMechanisms = ['scram-sha-512', 'scram-sha-256', 'plain'] as const;

/** A security setting that cannot work; `toJSON()` is the lab's `{error, message}` shape. */
export class KafkaSecurityConfigError extends Error {
  readonly error = 'invalid_kafka_security';

  constructor(message: string) {
    super(message);
    this.name = 'KafkaSecurityConfigError';
  }

  toJSON(): { error: string; message: string } {
    return { error: this.error, message: this.message };
  }
}

function readNamedFile(variable: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new KafkaSecurityConfigError(`${variable}=${file} cannot be read: ${(error as Error).message}`);
  }
}

/** The `ssl` and `sasl` settings of a kafkajs client, from the environment; `{}` when none is set. */
export function kafkaSecurityFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  const caFile = env.KAFKA_SSL_CA_FILE || undefined;
  if (env.KAFKA_SSL !== undefined && env.KAFKA_SSL !== 'true' && env.KAFKA_SSL !== 'false') {
    throw new KafkaSecurityConfigError(`KAFKA_SSL=${env.KAFKA_SSL}: use true or false`);
  }
  if (caFile && env.KAFKA_SSL === 'false') {
    throw new KafkaSecurityConfigError('KAFKA_SSL_CA_FILE is set but KAFKA_SSL=false: unset one of them');
  }
  if (caFile) out.ssl = { ca: [readNamedFile('KAFKA_SSL_CA_FILE', caFile)] };
  else if (env.KAFKA_SSL === 'true') out.ssl = true;

  const mechanism = env.KAFKA_SASL_MECHANISM?.toLowerCase() || undefined;
  const username = env.KAFKA_SASL_USERNAME || undefined;
  const passwordFile = env.KAFKA_SASL_PASSWORD_FILE || undefined;
  const password = passwordFile ? readNamedFile('KAFKA_SASL_PASSWORD_FILE', passwordFile).split('\n')[0]!.trim() : env.KAFKA_SASL_PASSWORD || undefined;
  if (mechanism === undefined) {
    if (username || password) {
      throw new KafkaSecurityConfigError('KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD are set but KAFKA_SASL_MECHANISM is not: '
        + `set it to one of ${saslMechanisms.join(', ')}`);
    }
    return out;
  }
  if (!(saslMechanisms as readonly string[]).includes(mechanism)) {
    throw new KafkaSecurityConfigError(`KAFKA_SASL_MECHANISM=${mechanism}: use one of ${saslMechanisms.join(', ')}`);
  }
  if (!username || !password) {
    throw new KafkaSecurityConfigError(`KAFKA_SASL_MECHANISM=${mechanism} needs KAFKA_SASL_USERNAME and `
      + 'KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)');
  }
  out.sasl = { mechanism, username, password } as SASLOptions;
  return out;
}
