/**
 * Lab 07's Kafka, ready for the services: the secure broker (infra/kafka-secure.ts) with a SCRAM
 * user per principal, the lab's topics created by the super user, the ACL table applied, and the
 * environment each service needs (`envFor`). `npm run up -- --secure` starts its Kafka this way.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../../shared/config.js';
import { createKafka, ensureTopic } from '../../../shared/kafka.js';
import { startSecureKafka, type SecureKafkaBroker, type SecureKafkaOptions } from '../../../infra/kafka-secure.js';
import { applyAcls, labAcls, labPrincipals, type LabAcl, type LabPrincipal } from './kafka-acls.js';
import { ensureKafkaSecrets, type KafkaSecrets } from './kafka-secrets.js';

export const superUser = 'admin';

export interface LabSecureKafka {
  broker: SecureKafkaBroker;
  secrets: KafkaSecrets;
  acls: LabAcl[];
  /** What a service's process needs to reach the broker as `principal`: brokers, CA, SCRAM user and password file. */
  envFor(principal: LabPrincipal | typeof superUser): Record<string, string>;
}

export interface LabSecureKafkaOptions extends Omit<SecureKafkaOptions, 'users' | 'superUser'> {
  /** Where the password files are. Default `.run/kafka-secrets/`. */
  secretsDir?: string;
  /** Topic and group names. Default: the environment's (shared/config.ts). */
  config?: Config;
  /** The ACL table to apply. Default `labAcls(config)`; the tests take one out to see its test fail. */
  acls?: LabAcl[];
}

/** Creates the lab's topics (main, retry, DLQ) and applies the ACLs as the super user. */
export async function setUpLabKafka(broker: SecureKafkaBroker, config: Config, acls: LabAcl[]): Promise<void> {
  const kafka = createKafka(broker.brokers, 'crm-lab-secure-setup', broker.clientConfig(superUser));
  // The same partition counts the services would create them with (labs/01-ingest, labs/04-dlq).
  await ensureTopic(kafka, config.KAFKA_TOPIC, config.KAFKA_TOPIC_PARTITIONS);
  await ensureTopic(kafka, config.KAFKA_RETRY_TOPIC, 1);
  await ensureTopic(kafka, config.KAFKA_DLQ_TOPIC, 1);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await applyAcls(admin, acls);
  } finally {
    await admin.disconnect();
  }
}

/**
 * What a service's process needs to reach the secure broker as `principal`: brokers, the CA, the
 * SCRAM user and its password file (shared/kafka-security.ts reads them). Also for a broker an
 * earlier `npm run up -- --secure` left running.
 */
export function secureServiceEnv(principal: LabPrincipal | typeof superUser,
  o: { brokers: string[]; caFile: string; secrets: Pick<KafkaSecrets, 'files'> }): Record<string, string> {
  const passwordFile = o.secrets.files[principal];
  if (!passwordFile) throw new Error(`no Kafka password file for ${principal}`);
  return {
    KAFKA_BROKERS: o.brokers.join(','),
    KAFKA_SSL_CA_FILE: o.caFile,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: principal,
    KAFKA_SASL_PASSWORD_FILE: passwordFile,
  };
}

export async function startLabSecureKafka(opts: LabSecureKafkaOptions = {}): Promise<LabSecureKafka> {
  const { secretsDir, config = loadConfig(), acls = labAcls(config), ...brokerOptions } = opts;
  const secrets = ensureKafkaSecrets([superUser, ...labPrincipals], secretsDir);
  // SCRAM users are written once, when the storage is formatted: a password made after that is unknown to the broker.
  if (secrets.created.length > 0 && brokerOptions.dataDir && existsSync(join(brokerOptions.dataDir, 'data', 'meta.properties'))) {
    throw new Error(`new Kafka passwords for ${secrets.created.join(', ')} in ${secrets.dir}, but the broker in ${brokerOptions.dataDir} `
      + 'was formatted with the old ones: restore the old password files, or remove the data folder to start empty');
  }
  const broker = await startSecureKafka({ ...brokerOptions, users: secrets.passwords, superUser });
  try {
    await setUpLabKafka(broker, config, acls);
  } catch (error) {
    await broker.process.stop();
    throw error;
  }
  return {
    broker, secrets, acls,
    envFor: (principal) => secureServiceEnv(principal, { brokers: broker.brokers, caFile: broker.caFile, secrets }),
  };
}
