/**
 * Kafka Streams apps, like the broker: the kafka-streams jars of the broker's version from Maven
 * Central (cached in ~/.cache/crm-event-lab), a lab's Java source compiled with the host's javac
 * (cached by source hash), and `java` started by the runtime's launcher (infra/runtime/launcher.ts):
 * a local process, or the Kafka image's Java 17 with LAB_RUNTIME=containers.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { log4jProperties } from './kafka.js';
import { ensureJars, kafkaPom } from './maven-jars.js';
import { cacheDir, versions } from './paths.js';
import type { ManagedProcess } from './processes.js';
import { launcher } from './runtime/launcher.js';

const exec = promisify(execFile);

export const kafkaStreamsLibs = join(cacheDir, `kafka-streams-${versions.KAFKA_VERSION}`, 'libs');

/** Copies kafka-streams and its runtime dependencies into the cache, once per pom (install.sh does the same). */
export function ensureKafkaStreamsJars(): Promise<string> {
  return ensureJars(kafkaStreamsLibs, kafkaPom('kafka-streams-pom.xml'));
}

/** Compiles one Java source file against the Kafka Streams jars; returns the class folder (reused while the source is unchanged). */
export async function compileStreamsApp(javaFile: string): Promise<string> {
  const source = readFileSync(javaFile);
  const hash = createHash('sha256').update(source).update(versions.KAFKA_VERSION!).digest('hex').slice(0, 16);
  const classes = join(cacheDir, 'kafka-streams-apps', `${basename(javaFile, '.java')}-${hash}`);
  if (existsSync(join(classes, '.complete'))) return classes;
  if (!existsSync(join(kafkaStreamsLibs, '.complete'))) {
    throw new Error(`Kafka Streams jars missing in ${kafkaStreamsLibs}: run infra/install.sh`);
  }
  mkdirSync(classes, { recursive: true });
  await exec('javac', ['-nowarn', '-cp', join(kafkaStreamsLibs, '*'), '-d', classes, javaFile]);
  writeFileSync(join(classes, '.complete'), hash);
  return classes;
}

/**
 * Starts a compiled Kafka Streams app; its settings come from `env`, its output goes to `logFile`.
 * Its state folder (`env.STATE_DIR`, when set) is a host folder on both runtimes.
 */
export function startStreamsApp(opts: { name: string; classes: string; mainClass: string; env: NodeJS.ProcessEnv; logFile: string; heapMb?: number }): ManagedProcess {
  const heap = opts.heapMb ?? 256;
  const logDir = dirname(opts.logFile);
  const log4jFile = join(logDir, `${opts.name}-log4j.properties`);
  mkdirSync(logDir, { recursive: true });
  writeFileSync(log4jFile, log4jProperties);
  const stateDir = opts.env.STATE_DIR;
  return launcher().jvm({
    name: opts.name,
    args: [`-Xms64m`, `-Xmx${heap}m`, '-XX:+UseSerialGC', `-Dlog4j.configuration=file:${log4jFile}`,
      '-cp', `${opts.classes}:${join(kafkaStreamsLibs, '*')}`, opts.mainClass],
    sharedDirs: [opts.classes, kafkaStreamsLibs, logDir, ...(stateDir ? [stateDir] : [])],
    env: opts.env,
    logFile: opts.logFile,
  });
}
