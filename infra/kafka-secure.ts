/**
 * Lab 07's secure broker: one KRaft node (broker + controller) whose only client listener is
 * SASL_SSL with SCRAM-SHA-512, with the StandardAuthorizer and no access for anyone an ACL does
 * not name (`allow.everyone.if.no.acl.found=false`). The super user (default `admin`) is the
 * broker's own identity and the one that creates topics and ACLs.
 *
 * Listeners:
 * - CLIENT (SASL_SSL, SCRAM-SHA-512): clients, and the inter-broker listener (the broker
 *   authenticates as the super user; one node has no replica to fetch, but the setting must name one).
 * - CONTROLLER (SASL_SSL, PLAIN, loopback): the broker's registration and heartbeats. SCRAM cannot
 *   serve it (its credentials live in the metadata log the controller serves), and a PLAINTEXT
 *   controller listener would need `User:ANONYMOUS` as a super user: any local process could then
 *   create ACLs or topics through it. PLAIN's one credential is the super user's, in server.properties.
 *
 * SCRAM credentials are written into the metadata log when the storage is formatted
 * (`kafka-storage format --add-scram`): kafkajs has no call to add them later.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KafkaConfig } from 'kafkajs';
import { launchKafkaNode, log4jProperties, randomClusterId, singleNodeProperties, waitForKafkaReady } from './kafka.js';
import { kafkaLibs } from './paths.js';
import { freePorts, startOnPickedPorts, waitForPort, type ManagedProcess, type PortPicker } from './processes.js';
import { labRuntime } from './runtime/runtime.js';
import { ensureServerCert } from './tls.js';

const exec = promisify(execFile);

export interface SecureKafkaOptions {
  /** SCRAM users (name → password) created at format time; must include `superUser`. */
  users: Record<string, string>;
  /** The broker's identity and the setup user. Default `admin`. */
  superUser?: string;
  /** Data and log folder; reuse it to restart with the same data and users. Default: a new temp folder. */
  dataDir?: string;
  /** Folder of the local CA and the broker's certificate (infra/tls.ts). Default `<dataDir>/tls`. */
  tlsDir?: string;
  clientPort?: number;
  controllerPort?: number;
  /**
   * A second SASL_SSL listener meant to sit behind Toxiproxy (as infra/kafka.ts's PROXIED), advertised
   * at `proxiedAdvertisedPort` (the proxy's port): both or neither. TLS passes through the proxy untouched.
   */
  proxiedListenerPort?: number;
  proxiedAdvertisedPort?: number;
  /** Default 384 MB (KAFKA_HEAP_MB). */
  heapMb?: number;
  defaultPartitions?: number;
  clusterId?: string;
  keepAfterExit?: boolean;
  pickPorts?: PortPicker;
}

export interface SecureKafkaBroker {
  /** Bootstrap list of the SASL_SSL listener. */
  brokers: string[];
  /** Bootstrap list through Toxiproxy, when a proxied listener was asked for. */
  proxiedBrokers: string[];
  /** The CA clients must trust (PEM). */
  caFile: string;
  superUser: { username: string; password: string };
  ports: { client: number; controller: number };
  dataDir: string;
  clusterId: string;
  process: ManagedProcess;
  /** kafkajs settings for `username` (its password from `users`): TLS trusting the lab's CA, SCRAM-SHA-512. */
  clientConfig(username: string): Pick<KafkaConfig, 'ssl' | 'sasl'>;
  options: Required<Omit<SecureKafkaOptions, 'pickPorts' | 'keepAfterExit' | 'proxiedListenerPort' | 'proxiedAdvertisedPort'>>
    & Pick<SecureKafkaOptions, 'proxiedListenerPort' | 'proxiedAdvertisedPort'> & { keepAfterExit: boolean };
}

/** SCRAM and PLAIN user names and passwords go into JAAS strings and format arguments unquoted-safe. */
const safeCredential = /^[A-Za-z0-9_.-]+$/;

function refuseUnsafeCredentials(users: Record<string, string>, superUser: string): void {
  if (users[superUser] === undefined) throw new Error(`secure Kafka: the super user ${superUser} needs a password in users`);
  for (const [name, password] of Object.entries(users)) {
    if (!safeCredential.test(name) || !safeCredential.test(password)) {
      throw new Error(`secure Kafka: user ${JSON.stringify(name)}: names and passwords are limited to [A-Za-z0-9_.-] `
        + '(they are written into JAAS configuration and kafka-storage arguments)');
    }
  }
}

type Options = SecureKafkaBroker['options'];

function secureServerProperties(o: Options, tls: { keystore: string; truststore: string }): string {
  const admin = o.users[o.superUser]!;
  const proxied = o.proxiedListenerPort === undefined ? undefined
    : { listener: `,PROXIED://127.0.0.1:${o.proxiedListenerPort}`, advertised: `,PROXIED://127.0.0.1:${o.proxiedAdvertisedPort}` };
  return `# Written by infra/kafka-secure.ts (lab 07). Holds the super user's password: mode 0600.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${o.controllerPort}
controller.listener.names=CONTROLLER
listeners=CLIENT://127.0.0.1:${o.clientPort},CONTROLLER://127.0.0.1:${o.controllerPort}${proxied?.listener ?? ''}
advertised.listeners=CLIENT://127.0.0.1:${o.clientPort}${proxied?.advertised ?? ''}
listener.security.protocol.map=CLIENT:SASL_SSL,CONTROLLER:SASL_SSL,PROXIED:SASL_SSL
inter.broker.listener.name=CLIENT
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${o.superUser}" password="${admin}";
listener.name.proxied.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.proxied.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${o.superUser}" password="${admin}" user_${o.superUser}="${admin}";
ssl.keystore.type=PEM
ssl.keystore.location=${tls.keystore}
ssl.truststore.type=PEM
ssl.truststore.location=${tls.truststore}
ssl.client.auth=none
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:${o.superUser}
${singleNodeProperties(o)}`;
}

/**
 * The broker's usual log, plus its security events: every request the authorizer refuses
 * (`Principal = User:api is Denied operation = WRITE from host = 127.0.0.1 on resource = Topic:LITERAL:crm-events-dlq …`)
 * and every failed TLS handshake or SASL login (`Failed authentication with /127.0.0.1 (…) (SSL handshake failed)`).
 */
export const secureLog4jProperties = `${log4jProperties}log4j.logger.kafka.authorizer.logger=INFO
log4j.logger.org.apache.kafka.common.network.Selector=INFO
`;

/** This broker process's log lines matching `pattern`, without timestamp, level and logger. */
function brokerLog(broker: Pick<SecureKafkaBroker, 'process'>, pattern: RegExp): string[] {
  const log = readFileSync(broker.process.logFile, 'utf8').slice(broker.process.logStart);
  return log.split('\n').filter((line) => pattern.test(line))
    .map((line) => line.replace(/^\[[^\]]*\] \w+ /, '').replace(/ \([\w.]+\)$/, ''));
}

/** The authorizer's refusals in the broker's log (`secureLog4jProperties`), optionally of one principal. */
export function deniedRequests(broker: Pick<SecureKafkaBroker, 'process'>, principal?: string): string[] {
  return brokerLog(broker, / is Denied [Oo]peration/).filter((line) => !principal || line.includes(`Principal = User:${principal} `));
}

/** Connections the broker dropped because the TLS handshake or the SASL login failed. */
export function failedAuthentications(broker: Pick<SecureKafkaBroker, 'process'>): string[] {
  return brokerLog(broker, /Failed authentication with /);
}

/** Formats the storage with every user's SCRAM-SHA-512 credential (first start only). */
async function formatWithScramUsers(o: Options, propsFile: string): Promise<void> {
  if (existsSync(join(o.dataDir, 'data', 'meta.properties'))) return;
  const scram = Object.entries(o.users).flatMap(([name, password]) => ['--add-scram', `SCRAM-SHA-512=[name=${name},password=${password}]`]);
  await exec('java', ['-Xmx256m', `-Dlog4j.configuration=file:${join(o.dataDir, 'log4j.properties')}`, '-cp', join(kafkaLibs, '*'),
    'kafka.tools.StorageTool', 'format', '-t', o.clusterId, '-c', propsFile, ...scram]);
}

/** Starts the secure broker and waits until the super user sees it registered, over SASL_SSL. */
export async function startSecureKafka(opts: SecureKafkaOptions): Promise<SecureKafkaBroker> {
  // The storage is formatted here, on this machine, with the users' credentials: the container image formats its own.
  if (labRuntime() !== 'native') throw new Error('secure Kafka runs natively only (LAB_RUNTIME=native)');
  const superUser = opts.superUser ?? 'admin';
  refuseUnsafeCredentials(opts.users, superUser);
  if ((opts.proxiedListenerPort === undefined) !== (opts.proxiedAdvertisedPort === undefined)) {
    throw new Error('secure Kafka: give both proxiedListenerPort and proxiedAdvertisedPort, or neither');
  }
  const given = [opts.clientPort, opts.controllerPort];
  const clusterId = opts.clusterId ?? randomClusterId();
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'crm-kafka-secure-'));
  return startOnPickedPorts(2, opts.pickPorts ?? freePorts, async ([client, controller]) => {
    const options: Options = {
      users: opts.users, superUser, dataDir, tlsDir: opts.tlsDir ?? join(dataDir, 'tls'),
      clientPort: opts.clientPort ?? client!, controllerPort: opts.controllerPort ?? controller!,
      heapMb: opts.heapMb ?? Number(process.env.KAFKA_HEAP_MB ?? 384), defaultPartitions: opts.defaultPartitions ?? 2,
      proxiedListenerPort: opts.proxiedListenerPort, proxiedAdvertisedPort: opts.proxiedAdvertisedPort,
      clusterId, keepAfterExit: opts.keepAfterExit ?? false,
    };
    const cert = ensureServerCert(options.tlsDir, 'kafka');
    // Kafka's PEM key store is one file: the (unencrypted PKCS#8) key, then the certificate.
    const keystore = join(options.tlsDir, 'kafka-keystore.pem');
    writeFileSync(keystore, readFileSync(cert.keyFile, 'utf8') + readFileSync(cert.certFile, 'utf8'), { mode: 0o600 });
    chmodSync(keystore, 0o600);
    const properties = secureServerProperties(options, { keystore, truststore: cert.caFile });
    mkdirSync(dataDir, { recursive: true });
    const propsFile = join(dataDir, 'server.properties');
    writeFileSync(propsFile, properties, { mode: 0o600 });
    chmodSync(propsFile, 0o600);
    writeFileSync(join(dataDir, 'log4j.properties'), secureLog4jProperties);
    await formatWithScramUsers(options, propsFile);
    const proc = await launchKafkaNode({ name: 'kafka-secure', dataDir, properties, log4j: secureLog4jProperties, heapMb: options.heapMb,
      clusterId, keepAfterExit: options.keepAfterExit });
    const clientConfig = (username: string): Pick<KafkaConfig, 'ssl' | 'sasl'> => {
      const password = options.users[username];
      if (password === undefined) throw new Error(`secure Kafka: no user ${username}`);
      return { ssl: { ca: [readFileSync(cert.caFile, 'utf8')] }, sasl: { mechanism: 'scram-sha-512', username, password } };
    };
    const handle: SecureKafkaBroker = {
      brokers: [`127.0.0.1:${options.clientPort}`],
      proxiedBrokers: options.proxiedAdvertisedPort === undefined ? [] : [`127.0.0.1:${options.proxiedAdvertisedPort}`],
      caFile: cert.caFile,
      superUser: { username: superUser, password: options.users[superUser]! },
      ports: { client: options.clientPort, controller: options.controllerPort },
      dataDir, clusterId, process: proc, clientConfig, options,
    };
    try {
      await waitForPort(proc, options.clientPort, 60_000);
      await waitForKafkaReady(handle.brokers, { client: clientConfig(superUser), process: proc });
    } catch (error) {
      await proc.kill();
      throw error;
    }
    return handle;
  }, given.every((port) => port !== undefined) ? 1 : 3);
}
