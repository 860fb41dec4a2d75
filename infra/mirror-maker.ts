/**
 * MirrorMaker 2 in dedicated mode (`org.apache.kafka.connect.mirror.MirrorMaker`), from Kafka's jars
 * plus connect-mirror and connect-mirror-client of the same version (infra/kafka-mirror-pom.xml, in
 * their own cache folder: infra/install.sh fetches them, and so does `ensureMirrorMakerJars`), started through the runtime's launcher like every other JVM of the lab: a local process, or the
 * Kafka image's Java 17 with LAB_RUNTIME=containers. One flow, source → target; every internal
 * topic with replication factor 1 (each region of the lab is one broker).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log4jProperties } from './kafka.js';
import { ensureJars, jarsReady, kafkaPom } from './maven-jars.js';
import { cacheDir, kafkaLibs, versions } from './paths.js';
import type { ManagedProcess } from './processes.js';
import { launcher } from './runtime/launcher.js';

/** connect-mirror and connect-mirror-client, without their dependencies (those are in `kafkaLibs`). */
export const kafkaMirrorLibs = join(cacheDir, `kafka-mirror-${versions.KAFKA_VERSION}`, 'libs');

/** Copies the two MirrorMaker jars into the cache, once per pom (install.sh does the same). */
export function ensureMirrorMakerJars(): Promise<string> {
  return ensureJars(kafkaMirrorLibs, kafkaPom('kafka-mirror-pom.xml'), ['-DexcludeTransitive=true']);
}

export interface MirrorCluster {
  /** The cluster's alias: names the mirrored topics on the target (`A.crm-events`) and the internal ones. */
  alias: string;
  brokers: string[];
}

export interface MirrorMakerOptions {
  source: MirrorCluster;
  target: MirrorCluster;
  /** Topics to mirror: a comma-separated list or regex, as MM2's `topics`. */
  topics: string;
  /** Consumer groups whose offsets are checkpointed and synced, as MM2's `groups`. */
  groups: string;
  /**
   * MM2 settings over the lab's defaults ({@link mirrorDefaults}); e.g. `{ 'offset.lag.max': 100 }`.
   * Keys without a flow or cluster prefix apply to every flow and cluster.
   */
  settings?: Record<string, string | number | boolean>;
  /** Folder of mm2.properties and the log. Default: a new temp folder. */
  dir?: string;
  heapMb?: number;
}

export interface MirrorMaker {
  process: ManagedProcess;
  /** The mm2.properties it runs with. */
  propsFile: string;
  /** The settings written, defaults and overrides merged. */
  settings: Record<string, string | number | boolean>;
  /** The mirrored topic's name on the target (DefaultReplicationPolicy: `<source alias>.<topic>`). */
  remoteTopic(topic: string): string;
  /** The target's checkpoints topic (`<source alias>.checkpoints.internal`). */
  checkpointsTopic: string;
  /** The offset-syncs topic, on the source cluster (offset-syncs.topic.location=source, the default). */
  offsetSyncsTopic: string;
}

/**
 * The lab's settings: short intervals so a test sees checkpoints within seconds, and a small
 * `offset.lag.max` so the offset-sync granularity (the re-read bound after a failover) is small.
 */
export const mirrorDefaults: Record<string, string | number | boolean> = {
  // Every internal topic fits one broker.
  'replication.factor': 1,
  'checkpoints.topic.replication.factor': 1,
  'heartbeats.topic.replication.factor': 1,
  'offset-syncs.topic.replication.factor': 1,
  'offset.storage.replication.factor': 1,
  'status.storage.replication.factor': 1,
  'config.storage.replication.factor': 1,
  // The checkpoint connector: translate each group's committed offsets every second, and write
  // them into the target's __consumer_offsets too (only while the group has no member there).
  'emit.checkpoints.enabled': true,
  'emit.checkpoints.interval.seconds': 1,
  'sync.group.offsets.enabled': true,
  'sync.group.offsets.interval.seconds': 1,
  'emit.heartbeats.enabled': true,
  'emit.heartbeats.interval.seconds': 1,
  'refresh.topics.interval.seconds': 2,
  'refresh.groups.interval.seconds': 2,
  // A new offset sync once a partition's translation would be this many records stale.
  'offset.lag.max': 10,
  // Nothing of the source's configs or ACLs is copied: the target's topic keeps its own settings.
  'sync.topic.configs.enabled': false,
  'sync.topic.acls.enabled': false,
  'tasks.max': 1,
  // How often the Connect worker stores the source consumer's position on the target (a restarted MM2 resumes there).
  'offset.flush.interval.ms': 1000,
};

export function mirrorMakerProperties(o: MirrorMakerOptions, settings: Record<string, string | number | boolean>): string {
  const { source: s, target: t } = o;
  const lines = [
    '# Written by infra/mirror-maker.ts',
    `clusters=${s.alias},${t.alias}`,
    `${s.alias}.bootstrap.servers=${s.brokers.join(',')}`,
    `${t.alias}.bootstrap.servers=${t.brokers.join(',')}`,
    `${s.alias}->${t.alias}.enabled=true`,
    `${s.alias}->${t.alias}.topics=${o.topics}`,
    `${s.alias}->${t.alias}.groups=${o.groups}`,
    `${t.alias}->${s.alias}.enabled=false`,
    // Dedicated mode runs the target's Connect worker only (`--clusters`): no REST server needed.
    ...Object.entries(settings).map(([k, v]) => `${k}=${v}`),
  ];
  return lines.join('\n') + '\n';
}

/** Starts MM2 for one flow and returns at once: callers wait for what they need (lab 08 waits for the mirrored topic on the target). */
export function startMirrorMaker(o: MirrorMakerOptions): MirrorMaker {
  if (!jarsReady(kafkaMirrorLibs, kafkaPom('kafka-mirror-pom.xml'))) {
    throw new Error(`MirrorMaker jars missing in ${kafkaMirrorLibs}: run bash infra/install.sh --for test (or await ensureMirrorMakerJars())`);
  }
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'crm-mm2-'));
  mkdirSync(dir, { recursive: true });
  const settings = { ...mirrorDefaults, ...o.settings };
  const propsFile = join(dir, 'mm2.properties');
  const log4jFile = join(dir, 'log4j.properties');
  writeFileSync(propsFile, mirrorMakerProperties(o, settings));
  writeFileSync(log4jFile, `${log4jProperties}log4j.logger.org.apache.kafka.connect.mirror=INFO\n`);
  const heap = o.heapMb ?? 256;
  const proc = launcher().jvm({
    name: `mirror-maker-${o.source.alias}-${o.target.alias}`,
    args: ['-Xms64m', `-Xmx${heap}m`, '-XX:+UseSerialGC', '-Djava.awt.headless=true', `-Dlog4j.configuration=file:${log4jFile}`,
      '-cp', `${join(kafkaLibs, '*')}:${join(kafkaMirrorLibs, '*')}`, 'org.apache.kafka.connect.mirror.MirrorMaker', propsFile, '--clusters', o.target.alias],
    sharedDirs: [dir, kafkaLibs, kafkaMirrorLibs],
    logFile: join(dir, 'mirror-maker.log'),
  });
  return {
    process: proc,
    propsFile,
    settings,
    remoteTopic: (topic) => `${o.source.alias}.${topic}`,
    checkpointsTopic: `${o.source.alias}.checkpoints.internal`,
    offsetSyncsTopic: `mm2-offset-syncs.${o.target.alias}.internal`,
  };
}
