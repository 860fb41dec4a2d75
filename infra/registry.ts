/**
 * The schema registry (lab 05): Apicurio Registry 3, the Quarkus app infra/install.sh caches
 * from Maven Central, run as a plain `java -jar` on 127.0.0.1 (a local process, or in the Kafka
 * image's Java 17 with LAB_RUNTIME=containers: infra/runtime/launcher.ts). Its storage is an H2 database
 * file in `dataDir`, so subjects, versions and compatibility rules survive a restart on the same
 * folder (the app's default is an in-memory database that forgets them).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir, repoRoot, versions } from './paths.js';
import { failIfExited, freePort, waitFor, type ManagedProcess } from './processes.js';
import { launcher } from './runtime/launcher.js';

export const registryHome = join(cacheDir, `apicurio-registry-${versions.APICURIO_REGISTRY_VERSION}`);
const runnerJar = join(registryHome, `apicurio-registry-app-${versions.APICURIO_REGISTRY_VERSION}-runner.jar`);

export interface RegistryOptions {
  /** HTTP port on 127.0.0.1 (REST APIs and /health). Default: a free port. */
  port?: number;
  /** Holds the H2 database file; reuse it to restart with the same schemas. Default: a new temp folder. */
  dataDir?: string;
  heapMb?: number;
  logDir?: string;
  /** Leave the registry running after this process exits (`npm run up`). */
  keepAfterExit?: boolean;
}

export interface SchemaRegistryServer {
  port: number;
  /** The Confluent-compatible API, what `@kafkajs/confluent-schema-registry` is given as host. */
  ccompatUrl: string;
  /** Apicurio's root (health at /health/ready, its own API at /apis/registry/v3). */
  baseUrl: string;
  dataDir: string;
  process: ManagedProcess;
  options: Required<Omit<RegistryOptions, 'logDir'>>;
}

/** The JVM and Quarkus settings: loopback only, file-backed storage, a small pool and heap. */
export function registryArgs(o: { port: number; dataDir: string; heapMb: number }): string[] {
  const props: Record<string, string> = {
    'quarkus.http.host': '127.0.0.1',
    'quarkus.http.port': String(o.port),
    // This build serves health on the main port (its management interface is not compiled in);
    // should a build enable it, it still binds loopback only, on a port chosen at start.
    'quarkus.management.host': '127.0.0.1',
    'quarkus.management.port': '0',
    'apicurio.storage.kind': 'sql',
    'apicurio.storage.sql.kind': 'h2',
    'apicurio.datasource.url': `jdbc:h2:file:${join(o.dataDir, 'registry')}`,
    // The default pool opens 20 connections at start; a lab needs two.
    'apicurio.datasource.jdbc.initial-size': '2',
    'apicurio.datasource.jdbc.min-size': '2',
    'apicurio.datasource.jdbc.max-size': '10',
    // Every request would otherwise be one INFO line.
    'quarkus.http.access-log.enabled': 'false',
    'apicurio.app.name': 'crm-event-lab schema registry',
  };
  return [
    `-Xmx${o.heapMb}m`,
    '-XX:+UseSerialGC',
    // Faster start on two shared cores; the registry's own work is light.
    '-XX:TieredStopAtLevel=1',
    ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`),
    '-jar',
    runnerJar,
  ];
}

/** Starts the registry and waits until /health/ready answers UP. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<SchemaRegistryServer> {
  if (!existsSync(runnerJar)) throw new Error(`Apicurio Registry is not installed (${runnerJar} missing): run bash infra/install.sh`);
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'crm-registry-'));
  mkdirSync(dataDir, { recursive: true });
  const heapMb = opts.heapMb ?? 384;
  const keepAfterExit = opts.keepAfterExit ?? false;
  const proc = launcher().jvm({
    name: 'schema-registry',
    args: registryArgs({ port, dataDir, heapMb }),
    sharedDirs: [registryHome, dataDir],
    logFile: join(opts.logDir ?? dataDir, 'registry.log'),
    cwd: dataDir,
    keepAfterExit,
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const checkAlive = failIfExited(proc);
  try {
    await waitFor(`schema registry /health/ready (log: ${proc.logFile})`, async () => {
      checkAlive();
      return (await fetch(`${baseUrl}/health/ready`)).status === 200;
    }, { timeoutMs: 120_000, intervalMs: 250 });
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return {
    port,
    baseUrl,
    ccompatUrl: `${baseUrl}/apis/ccompat/v7`,
    dataDir,
    process: proc,
    options: { port, dataDir, heapMb, keepAfterExit },
  };
}

/** Starts the registry again on the same port and data folder, after `process.stop()`. */
export function restartRegistry(registry: SchemaRegistryServer): Promise<SchemaRegistryServer> {
  return startRegistry(registry.options);
}

/**
 * Sets the compatibility level and registers lab 05's schemas (v1, v2) for `topic`, by running
 * its CLI (`npm run schemas -- register`): infra starts lab code by path, as infra/worker.ts
 * does, and never imports it. Returns the CLI's line, e.g. `crm-events-value: v1 = schema id 1, v2 = schema id 2`.
 */
export async function registerLabSchemas(ccompatUrl: string, topic = 'crm-events'): Promise<string> {
  const { stdout } = await promisify(execFile)(
    join(repoRoot, 'node_modules', '.bin', 'tsx'),
    [join(repoRoot, 'labs', '05-schema-evolution', 'src', 'schemas-cli.ts'), 'register'],
    { cwd: repoRoot, env: { ...process.env, SCHEMA_REGISTRY_URL: ccompatUrl, KAFKA_TOPIC: topic } },
  );
  return stdout.trim();
}
