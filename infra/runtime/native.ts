import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { kafkaLibs, nginxBin, redisServerBin, repoRoot, toxiproxyServerBin } from '../paths.js';
import { launch } from '../processes.js';
import type { ComponentLauncher } from './launcher.js';

const exec = promisify(execFile);

/** Local processes from what infra/install.sh installed: the default runtime. */
export const nativeLauncher: ComponentLauncher = {
  runtime: 'native',

  async kafkaNode(o) {
    if (!existsSync(join(kafkaLibs, '.complete'))) {
      throw new Error(`Kafka jars missing in ${kafkaLibs}: run infra/install.sh`);
    }
    const classpath = join(kafkaLibs, '*');
    const jvm = [`-Xms${Math.min(256, o.heapMb)}m`, `-Xmx${o.heapMb}m`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true', `-Dlog4j.configuration=file:${o.log4jFile}`];
    if (!existsSync(join(o.dataDir, 'data', 'meta.properties'))) {
      await exec('java', [...jvm, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '--ignore-formatted',
        '-t', o.clusterId, '-c', o.propsFile]);
    }
    return launch(o.name, 'java', [...jvm, '-cp', classpath, 'kafka.Kafka', o.propsFile], {
      logFile: o.logFile,
      keepAfterExit: o.keepAfterExit,
    });
  },

  toxiproxy(o) {
    return launch('toxiproxy', toxiproxyServerBin, ['-host', '127.0.0.1', '-port', String(o.port)], {
      logFile: o.logFile,
      keepAfterExit: o.keepAfterExit,
    });
  },

  nginx(o) {
    return launch('nginx', nginxBin, ['-p', o.prefix, '-c', o.confFile, '-g', 'daemon off;'], {
      logFile: o.logFile,
      keepAfterExit: o.keepAfterExit,
    });
  },

  labProcess(o) {
    // Node itself with tsx as a loader, not the tsx CLI: the CLI is a second process that relays a
    // signal to the program and SIGKILLs it when the program has not acknowledged within ~60 ms. A
    // worker busy in a synchronous SQLite transaction on a loaded machine was killed that way in the
    // middle of its graceful stop (exit 143), before committing what it had processed.
    return launch(o.name, process.execPath, ['--import', 'tsx', join(repoRoot, o.entry)], {
      env: o.env,
      cwd: repoRoot,
      logFile: o.logFile,
      keepAfterExit: o.keepAfterExit,
    });
  },

  jvm(o) {
    return launch(o.name, 'java', o.args, { env: o.env, cwd: o.cwd, logFile: o.logFile, keepAfterExit: o.keepAfterExit });
  },

  redis(o) {
    return launch('redis', redisServerBin, o.args, { logFile: o.logFile, keepAfterExit: o.keepAfterExit });
  },
};
