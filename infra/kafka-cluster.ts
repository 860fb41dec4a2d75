/**
 * A local KRaft cluster of n combined broker+controller nodes, for the failover lab
 * (labs/03-failure): replication factor n, min.insync.replicas n-1 (2 of 3), no unclean
 * leader election. Clients use `brokers`; each node can be stopped, killed and restarted alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig, topicReplicationOf, type TopicReplication } from '../shared/config.js';
import { ensureTopic } from '../shared/kafka.js';
import { launchKafkaNode, randomClusterId, waitForKafkaReady } from './kafka.js';
import { freePorts, startOnPickedPorts, waitFor, waitForPort, type ManagedProcess, type PortPicker } from './processes.js';

export interface KafkaClusterNode {
  nodeId: number;
  /** host:port of its client listener. */
  broker: string;
  ports: { broker: number; controller: number };
  dataDir: string;
  process: ManagedProcess;
}

export interface KafkaCluster {
  /** Bootstrap list with every node. */
  brokers: string[];
  nodes: KafkaClusterNode[];
  clusterId: string;
  /** Parent folder of the nodes' data folders. */
  dataDir: string;
  replicationFactor: number;
  minInsyncReplicas: number;
  /** The nodes still running. */
  alive(): KafkaClusterNode[];
  /** Restarts a stopped node with its data (same ports, same id). */
  restartNode(nodeId: number): Promise<KafkaClusterNode>;
  /** Stops every node still running. */
  stop(): Promise<void>;
}

export interface KafkaClusterOptions {
  /** Heap of each JVM. Default 384 MB (KAFKA_CLUSTER_HEAP_MB). */
  heapMb?: number;
  /** Default 2. */
  defaultPartitions?: number;
  /** Default n - 1 (at least 1). */
  minInsyncReplicas?: number;
  /** How long the controller waits for a silent broker's heartbeat before fencing it. Default 3000 ms (Kafka: 9000). */
  brokerSessionTimeoutMs?: number;
  /** Parent folder of the nodes' data folders. Default: a new temp folder. */
  dataDir?: string;
  /** How the nodes' ports are picked (tests replace it to force a taken port). Default freePorts. */
  pickPorts?: PortPicker;
}

function nodeProperties(o: {
  nodeId: number; brokerPort: number; controllerPort: number; voters: string; dataDir: string;
  partitions: number; replicationFactor: number; minIsr: number; sessionTimeoutMs: number;
}): string {
  return `# Written by infra/kafka-cluster.ts
process.roles=broker,controller
node.id=${o.nodeId}
controller.quorum.voters=${o.voters}
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:${o.brokerPort},CONTROLLER://127.0.0.1:${o.controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${o.brokerPort}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${join(o.dataDir, 'data')}
num.partitions=${o.partitions}
default.replication.factor=${o.replicationFactor}
min.insync.replicas=${o.minIsr}
unclean.leader.election.enable=false
auto.create.topics.enable=false
offsets.topic.replication.factor=${o.replicationFactor}
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=${o.replicationFactor}
transaction.state.log.min.isr=${o.minIsr}
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=${o.sessionTimeoutMs}
log.segment.bytes=67108864
num.network.threads=2
num.io.threads=2
num.replica.fetchers=1
`;
}

/** Starts n KRaft nodes (each broker + controller, all voters) and waits until every broker is registered. */
export async function startKafkaCluster(n = 3, opts: KafkaClusterOptions = {}): Promise<KafkaCluster> {
  const heapMb = opts.heapMb ?? Number(process.env.KAFKA_CLUSTER_HEAP_MB ?? 384);
  const root = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'crm-kafka-cluster-'));
  const clusterId = randomClusterId();
  const replicationFactor = n;
  const minIsr = opts.minInsyncReplicas ?? Math.max(1, n - 1);
  let attempt = 0;
  // Ports are picked free, then bound by the JVMs seconds later: when one was taken in between,
  // every node is stopped and the cluster starts again, from empty data folders, on new ports.
  const { specs, nodes, launchNode } = await startOnPickedPorts(2 * n, opts.pickPorts ?? freePorts, async (ports) => {
    attempt += 1;
    const specs = Array.from({ length: n }, (_, i) => ({
      nodeId: i + 1,
      brokerPort: ports[2 * i]!,
      controllerPort: ports[2 * i + 1]!,
      dataDir: join(root, `node-${i + 1}`),
    }));
    if (attempt > 1) for (const spec of specs) rmSync(spec.dataDir, { recursive: true, force: true });
    const voters = specs.map((s) => `${s.nodeId}@127.0.0.1:${s.controllerPort}`).join(',');

    const launchNode = async (s: (typeof specs)[number]): Promise<KafkaClusterNode> => {
      const proc = await launchKafkaNode({
        name: `kafka-${s.nodeId}`,
        dataDir: s.dataDir,
        properties: nodeProperties({ ...s, voters, partitions: opts.defaultPartitions ?? 2, replicationFactor, minIsr,
          sessionTimeoutMs: opts.brokerSessionTimeoutMs ?? 3_000 }),
        heapMb,
        clusterId,
        keepAfterExit: false,
      });
      return { nodeId: s.nodeId, broker: `127.0.0.1:${s.brokerPort}`, ports: { broker: s.brokerPort, controller: s.controllerPort },
        dataDir: s.dataDir, process: proc };
    };

    // All at once: a node's broker listener opens only once a quorum of controllers has formed.
    const nodes = await Promise.all(specs.map(launchNode));
    try {
      await Promise.all(nodes.map((node) => waitForPort(node.process, node.ports.broker, 90_000)));
      await waitForKafkaReady(nodes.map((node) => node.broker), { brokerCount: n, timeoutMs: 90_000 });
    } catch (error) {
      await Promise.all(nodes.map((node) => node.process.kill()));
      throw error;
    }
    return { specs, nodes, launchNode };
  });

  const exited = new Set<number>();
  const track = (node: KafkaClusterNode) => void node.process.exited.then(() => exited.add(node.nodeId));
  nodes.forEach(track);

  const cluster: KafkaCluster = {
    brokers: nodes.map((node) => node.broker),
    nodes,
    clusterId,
    dataDir: root,
    replicationFactor,
    minInsyncReplicas: minIsr,
    alive: () => cluster.nodes.filter((node) => !exited.has(node.nodeId)),
    async restartNode(nodeId) {
      const index = cluster.nodes.findIndex((node) => node.nodeId === nodeId);
      const previous = cluster.nodes[index]!;
      if (!exited.has(nodeId)) throw new Error(`kafka-${nodeId} is still running`);
      const node = await launchNode(specs[index]!);
      exited.delete(nodeId);
      track(node);
      cluster.nodes[index] = node;
      await waitForPort(node.process, previous.ports.broker, 90_000);
      await waitForKafkaReady(cluster.alive().map((alive) => alive.broker), { brokerCount: cluster.alive().length, timeoutMs: 90_000 });
      return node;
    },
    async stop() {
      await Promise.all(cluster.nodes.map((node) => node.process.stop()));
    },
  };
  return cluster;
}

/**
 * Creates a replicated topic (through `ensureTopic`, so an existing topic with fewer replicas is
 * refused) and waits until every given broker reports a leader and a full ISR for each of its
 * partitions (kafkajs' own `waitForLeaders` gives up when a broker has not heard of the topic yet).
 * The replication defaults to the configuration (KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS).
 */
export async function createReplicatedTopic(brokers: string[], topic: string, o: { partitions: number } & Partial<TopicReplication>): Promise<void> {
  const replication = { ...topicReplicationOf(loadConfig()), ...o };
  const kafka = new Kafka({ brokers, clientId: 'crm-lab-infra', logLevel: logLevel.NOTHING });
  await ensureTopic(kafka, topic, o.partitions, { ...replication, waitForLeaders: false });
  for (const broker of brokers) {
    // Ask this broker alone: its metadata cache must know the topic and its leaders.
    const single = new Kafka({ brokers: [broker], clientId: 'crm-lab-infra', logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    try {
      await waitFor(`${topic} leaders on ${broker}`, async () => {
        await single.connect();
        const { topics } = await single.fetchTopicMetadata({ topics: [topic] });
        const ps = topics[0]?.partitions ?? [];
        return ps.length === o.partitions && ps.every((p) => p.leader >= 0 && p.isr.length === replication.replicationFactor);
      }, { timeoutMs: 30_000, intervalMs: 250 });
    } finally {
      await single.disconnect().catch(() => undefined);
    }
  }
}
