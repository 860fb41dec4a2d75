import { existsSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import type { ComponentLauncher } from '../launcher.js';
import { runContainer } from './container-process.js';
import { images } from './images.js';

// Variables of the test runner's own machine; the image has its own.
const hostOnly = new Set(['PATH', 'HOME', 'PWD', 'OLDPWD', 'HOSTNAME', 'SHELL', 'TERM', 'USER', 'LOGNAME', 'TMPDIR',
  'NODE_OPTIONS', 'NODE_PATH', 'INIT_CWD']);

/** The parent's environment plus `env`, as a spawned process would get it, minus the host-only variables. */
function inheritedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...env })) {
    if (value !== undefined && !hostOnly.has(key) && !key.startsWith('npm_')) out[key] = value;
  }
  return out;
}

/**
 * The host folders holding the files a lab process is given by absolute path in its own `env`
 * (lab 07's WRITE_KEYS_DB, PII_KEY_DB, …): mounted at the same path, so it opens the same files.
 */
export function foldersOfPathsIn(env: NodeJS.ProcessEnv): string[] {
  return Object.values(env)
    .filter((value): value is string => value !== undefined && isAbsolute(value))
    .map((path) => dirname(path))
    .filter((dir) => dir !== '/' && existsSync(dir));
}

function refuseKeepAfterExit(what: string, keepAfterExit?: boolean): void {
  // A container that outlives its test run is what docker-compose.yml is for.
  if (keepAfterExit) throw new Error(`${what}: LAB_RUNTIME=containers starts containers for tests only; use docker compose for a long-running stack`);
}

/** The images of infra/images/ on the host's network: every component listens on 127.0.0.1 as natively. */
export const containersLauncher: ComponentLauncher = {
  runtime: 'containers',

  async kafkaNode(o) {
    refuseKeepAfterExit(o.name, o.keepAfterExit);
    // The image's entry point formats the storage on the first start, then runs the node.
    return runContainer({
      name: o.name, image: images.kafka, command: [o.propsFile, o.clusterId],
      env: { KAFKA_HEAP_MB: String(o.heapMb), KAFKA_LOG4J: o.log4jFile },
      sharedDirs: [o.dataDir], logFile: o.logFile,
    });
  },

  toxiproxy(o) {
    refuseKeepAfterExit('toxiproxy', o.keepAfterExit);
    return runContainer({ name: 'toxiproxy', image: images.toxiproxy, command: ['-host', '127.0.0.1', '-port', String(o.port)],
      logFile: o.logFile });
  },

  nginx(o) {
    refuseKeepAfterExit('nginx', o.keepAfterExit);
    return runContainer({ name: 'nginx', image: images.nginx, command: ['nginx', '-p', o.prefix, '-c', o.confFile, '-g', 'daemon off;'],
      sharedDirs: [o.prefix], logFile: o.logFile });
  },

  labProcess(o) {
    refuseKeepAfterExit(o.name, o.keepAfterExit);
    return runContainer({ name: o.name, image: images.app, command: [o.entry], workingDir: '/app',
      env: inheritedEnv(o.env), sharedDirs: [...(o.sharedDirs ?? []), ...foldersOfPathsIn(o.env)], logFile: o.logFile });
  },

  jvm(o) {
    refuseKeepAfterExit(o.name, o.keepAfterExit);
    // The Kafka image's Java 17 (the JVM every JVM component here runs on), without its broker entry point.
    return runContainer({ name: o.name, image: images.kafka, entrypoint: ['java'], command: o.args, workingDir: o.cwd,
      env: inheritedEnv(o.env ?? {}), sharedDirs: [...o.sharedDirs, ...(o.cwd ? [o.cwd] : [])], logFile: o.logFile });
  },

  redis(o) {
    refuseKeepAfterExit('redis', o.keepAfterExit);
    return runContainer({ name: 'redis', image: images.redis, command: ['redis-server', ...o.args], sharedDirs: [o.dir],
      logFile: o.logFile });
  },
};
