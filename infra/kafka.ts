import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import { asPortTaken, failIfExited, freePorts, startOnPickedPorts, waitFor, waitForPort, type ManagedProcess, type PortPicker } from './processes.js';
import { launcher } from './runtime/launcher.js';

export interface KafkaOptions {
  /** Data and log folder; reuse it to restart a broker with its data. Default: a new temp folder. */
  dataDir?: string;
  /** Direct listener, for the tests' own reads and the lab tools. */
  brokerPort?: number;
  /** Second listener, meant to sit behind Toxiproxy. */
  proxiedListenerPort?: number;
  /** The address the second listener advertises: the Toxiproxy port in front of it. */
  proxiedAdvertisedPort?: number;
  controllerPort?: number;
  heapMb?: number;
  /** Kept by the launcher between restarts on the same dataDir. */
  clusterId?: string;
  /** Partitions of auto-created topics and the default for `ensureTopic`. */
  defaultPartitions?: number;
  /** Leave the broker running after this process exits (`npm run up`). */
  keepAfterExit?: boolean;
  /** How the ports not given are picked; picked again when one was taken before the broker bound it. Default freePorts. */
  pickPorts?: PortPicker;
}

export interface KafkaBroker {
  /** Bootstrap list for clients on the direct listener. */
  brokers: string[];
  /** Bootstrap list for clients that go through Toxiproxy (its advertised address). */
  proxiedBrokers: string[];
  ports: { broker: number; proxiedListener: number; proxiedAdvertised: number; controller: number };
  dataDir: string;
  clusterId: string;
  process: ManagedProcess;
  options: Required<Omit<KafkaOptions, 'keepAfterExit' | 'pickPorts'>> & { keepAfterExit: boolean };
}

/** Kafka's Uuid in base64url without padding, as `kafka-storage random-uuid` prints it. */
export function randomClusterId(): string {
  // Like Kafka's Uuid.randomUuid(): never starting with '-', which StorageTool's `-t` would read as an option.
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** What every single-node broker of the lab sets besides its listeners: one replica of everything, small and fast to start. */
export function singleNodeProperties(o: { dataDir: string; defaultPartitions: number }): string {
  return `log.dirs=${join(o.dataDir, 'data')}
num.partitions=${o.defaultPartitions}
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
log.segment.bytes=67108864
num.network.threads=2
num.io.threads=4
`;
}

function serverProperties(o: KafkaBroker['options']): string {
  return `# Written by infra/kafka.ts
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${o.controllerPort}
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:${o.brokerPort},PROXIED://127.0.0.1:${o.proxiedListenerPort},CONTROLLER://127.0.0.1:${o.controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${o.brokerPort},PROXIED://127.0.0.1:${o.proxiedAdvertisedPort}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,PROXIED:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
${singleNodeProperties(o)}`;
}

export const log4jProperties = `log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
`;

/**
 * Writes a node's server.properties and launches it (formatting its storage on the first start)
 * with the runtime LAB_RUNTIME selects (infra/runtime/). Shared by `startKafka` and infra/kafka-cluster.ts.
 */
export async function launchKafkaNode(o: {
  name: string; dataDir: string; properties: string; heapMb: number; clusterId: string; keepAfterExit: boolean;
  /** Default `log4jProperties`; the secure broker (infra/kafka-secure.ts) adds its security events. */
  log4j?: string;
}): Promise<ManagedProcess> {
  mkdirSync(o.dataDir, { recursive: true });
  const propsFile = join(o.dataDir, 'server.properties');
  const log4jFile = join(o.dataDir, 'log4j.properties');
  writeFileSync(propsFile, o.properties);
  writeFileSync(log4jFile, o.log4j ?? log4jProperties);
  return launcher().kafkaNode({ ...o, propsFile, log4jFile, logFile: join(o.dataDir, 'kafka.log') });
}

/**
 * Starts one Kafka broker in KRaft combined mode (broker + controller) from the cached jars.
 * Clients use `brokers` (direct) or `proxiedBrokers` (through Toxiproxy); never the controller port.
 */
export async function startKafka(opts: KafkaOptions = {}): Promise<KafkaBroker> {
  const given = [opts.brokerPort, opts.proxiedListenerPort, opts.proxiedAdvertisedPort, opts.controllerPort];
  // Explicit ports are kept: only a start on picked ports is worth another attempt.
  const attempts = given.every((port) => port !== undefined) ? 1 : 3;
  // One id for every attempt: a given data folder keeps the id it was formatted with.
  const clusterId = opts.clusterId ?? randomClusterId();
  return startOnPickedPorts(4, opts.pickPorts ?? freePorts, async ([broker, proxiedListener, proxiedAdvertised, controller]) => {
    const options: KafkaBroker['options'] = {
      dataDir: opts.dataDir ?? mkdtempSync(join(tmpdir(), 'crm-kafka-')),
      brokerPort: opts.brokerPort ?? broker!,
      proxiedListenerPort: opts.proxiedListenerPort ?? proxiedListener!,
      proxiedAdvertisedPort: opts.proxiedAdvertisedPort ?? proxiedAdvertised!,
      controllerPort: opts.controllerPort ?? controller!,
      heapMb: opts.heapMb ?? Number(process.env.KAFKA_HEAP_MB ?? 512),
      clusterId,
      defaultPartitions: opts.defaultPartitions ?? 2,
      keepAfterExit: opts.keepAfterExit ?? false,
    };
    const proc = await launchKafkaNode({ name: 'kafka', dataDir: options.dataDir, properties: serverProperties(options),
      heapMb: options.heapMb, clusterId: options.clusterId, keepAfterExit: options.keepAfterExit });
    await waitForPort(proc, options.brokerPort, 60_000);
    const handle: KafkaBroker = {
      brokers: [`127.0.0.1:${options.brokerPort}`],
      proxiedBrokers: [`127.0.0.1:${options.proxiedAdvertisedPort}`],
      ports: { broker: options.brokerPort, proxiedListener: options.proxiedListenerPort,
        proxiedAdvertised: options.proxiedAdvertisedPort, controller: options.controllerPort },
      dataDir: options.dataDir,
      clusterId: options.clusterId,
      process: proc,
      options,
    };
    // Its other listeners bind after the broker port: one of them taken ends the JVM here, not above.
    await waitForKafkaReady(handle.brokers, { process: proc });
    return handle;
  }, attempts);
}

/** Restarts a stopped broker on the same ports and data folder: what it acked is still there. */
export function restartKafka(previous: KafkaBroker): Promise<KafkaBroker> {
  return startKafka(previous.options);
}

/**
 * Waits until the cluster reports `brokerCount` registered brokers and an active controller.
 * `client`: how to connect (TLS, SASL) when the listener is not PLAINTEXT (infra/kafka-secure.ts).
 */
export async function waitForKafkaReady(brokers: string[],
  { brokerCount = 1, timeoutMs = 60_000, client = {} as Pick<KafkaConfig, 'ssl' | 'sasl'>, process }:
  { brokerCount?: number; timeoutMs?: number; client?: Pick<KafkaConfig, 'ssl' | 'sasl'>; process?: ManagedProcess } = {}): Promise<void> {
  const admin = new Kafka({ brokers, clientId: 'crm-lab-infra', logLevel: logLevel.NOTHING,
    retry: { retries: 0 }, ...client }).admin();
  // With the broker's process given, its death ends the wait at once (a PortTakenError when a port was taken).
  const checkAlive = process ? failIfExited(process) : () => undefined;
  try {
    await waitFor(`${brokerCount} Kafka broker(s) and a controller`, async () => {
      checkAlive();
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length >= brokerCount && cluster.controller !== null;
    }, { timeoutMs, intervalMs: 500 });
  } catch (error) {
    throw process ? asPortTaken(error, process, 'one of the ports it was given') : error;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
