import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KafkaSecurityConfigError, kafkaSecurityFromEnv } from './kafka-security.js';

const dir = mkdtempSync(join(tmpdir(), 'kafka-security-'));
const caFile = join(dir, 'ca.pem');
const passwordFile = join(dir, 'api.password');
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
writeFileSync(passwordFile, 's3cret\n');

describe('kafkaSecurityFromEnv', () => {
  it('adds nothing when no variable is set: labs 01–06 keep PLAINTEXT', () => {
    expect(kafkaSecurityFromEnv({})).toEqual({});
  });

  it('turns KAFKA_SSL_CA_FILE and SCRAM variables into kafkajs ssl and sasl, the password read from its file', () => {
    const security = kafkaSecurityFromEnv({ KAFKA_SSL_CA_FILE: caFile, KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'api', KAFKA_SASL_PASSWORD_FILE: passwordFile });
    expect(security).toEqual({ ssl: { ca: [expect.stringContaining('BEGIN CERTIFICATE')] },
      sasl: { mechanism: 'scram-sha-512', username: 'api', password: 's3cret' } });
    expect(kafkaSecurityFromEnv({ KAFKA_SSL: 'true' })).toEqual({ ssl: true });
  });

  const refused: [Record<string, string>, string][] = [
    [{ KAFKA_SASL_USERNAME: 'api', KAFKA_SASL_PASSWORD: 'x' }, 'KAFKA_SASL_MECHANISM is not'],
    [{ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'api', KAFKA_SASL_PASSWORD: 'x' }, 'use one of scram-sha-512'],
    [{ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'api' }, 'needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD'],
    [{ KAFKA_SSL_CA_FILE: join(dir, 'missing.pem') }, 'KAFKA_SSL_CA_FILE='],
    [{ KAFKA_SSL_CA_FILE: caFile, KAFKA_SSL: 'false' }, 'KAFKA_SSL=false'],
    [{ KAFKA_SSL: 'yes' }, 'KAFKA_SSL=yes'],
  ];
  for (const [env, reason] of refused) it(`refuses ${JSON.stringify(env)} with a reason`, () => {
    let thrown: unknown;
    try {
      kafkaSecurityFromEnv(env);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(KafkaSecurityConfigError);
    expect((thrown as KafkaSecurityConfigError).toJSON()).toEqual({ error: 'invalid_kafka_security', message: expect.stringContaining(reason) });
  });
});
