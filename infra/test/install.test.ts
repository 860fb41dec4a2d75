/**
 * infra/install.sh run for real, with the system's package tools replaced by recording stubs
 * (`id`, `sudo`, `apt-get`, `npm` on a PATH of their own), so that nothing is installed: it
 * installs as root directly, through sudo when not root, refuses clearly without either, and
 * installs only what the command it prepares needs (`--for up` or `--for test`).
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot, versions } from '../paths.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A PATH holding the stubs and the few real tools install.sh uses; a `sudo` stub only when asked. */
function sandbox(o: { uid: number; sudo: boolean }) {
  dir = mkdtempSync(join(tmpdir(), 'install-test-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const calls = join(dir, 'calls.log');
  writeFileSync(calls, '');
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub('id', `[ "$1" = "-u" ] && echo ${o.uid} || /usr/bin/id "$@"`);
  stub('apt-get', `echo "apt-get $*" >> ${calls}`);
  stub('npm', `echo "npm $*" >> ${calls}`);
  if (o.sudo) stub('sudo', `echo "sudo $*" >> ${calls}; "$@"`);
  for (const tool of ['sed', 'cat', 'mkdir', 'dirname', 'env', 'rm', 'mv', 'mktemp', 'tr']) {
    for (const where of ['/usr/bin', '/bin']) {
      if (existsSync(join(where, tool))) {
        symlinkSync(join(where, tool), join(bin, tool));
        break;
      }
    }
  }
  // A cache that already holds the Kafka, Kafka Streams and MirrorMaker jars, toxiproxy-server and the schema registry, and a JDK,
  // so those steps do nothing (and never touch the real cache).
  for (const [name, pomFile] of [['kafka', 'kafka-pom.xml'], ['kafka-streams', 'kafka-streams-pom.xml'], ['kafka-mirror', 'kafka-mirror-pom.xml']] as const) {
    const libs = join(dir, 'cache', `${name}-${versions.KAFKA_VERSION}`, 'libs');
    mkdirSync(libs, { recursive: true });
    const pom = readFileSync(join(repoRoot, 'infra', pomFile), 'utf8').replaceAll('@KAFKA_VERSION@', versions.KAFKA_VERSION!);
    writeFileSync(join(libs, '.complete'), pom.replace(/\n+$/, ''));
  }
  stub('javac', 'exit 0');
  mkdirSync(join(dir, 'cache', `toxiproxy-${versions.TOXIPROXY_VERSION}`));
  mkdirSync(join(dir, 'cache', `apicurio-registry-${versions.APICURIO_REGISTRY_VERSION}`));
  writeFileSync(join(dir, 'cache', `apicurio-registry-${versions.APICURIO_REGISTRY_VERSION}`, '.complete'), '');
  stub(join('..', 'cache', `toxiproxy-${versions.TOXIPROXY_VERSION}`, 'toxiproxy-server'), 'exit 0');
  return { bin, calls: () => readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean) };
}

/** Runs install.sh with nginx, redis-server, Prometheus and Chromium looked for where they are not. */
function install(bin: string, args: string[]) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn('/bin/bash', [join(repoRoot, 'infra', 'install.sh'), ...args], {
      cwd: repoRoot,
      env: { PATH: bin, HOME: process.env.HOME, CRM_LAB_CACHE: join(dir, 'cache'), NGINX_BIN: join(dir, 'no-nginx'), REDIS_SERVER_BIN: join(dir, 'no-redis-server'),
        PROMETHEUS_BIN: join(dir, 'no-prometheus'), PROMTOOL_BIN: join(dir, 'no-promtool'), CHROMIUM_BIN: join(dir, 'no-chromium') },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

const installs = (calls: string[]) => calls.filter((c) => c.startsWith('apt-get') && c.includes(' install '));

describe('infra/install.sh', () => {
  it('as root, installs with apt-get directly; --for test installs nginx, redis-server, Prometheus and Chromium', async () => {
    const { bin, calls } = sandbox({ uid: 0, sudo: false });
    const result = await install(bin, ['--for', 'test']);
    expect(result.code, result.output).toBe(0);
    expect(calls().some((c) => c.startsWith('sudo'))).toBe(false);
    expect(installs(calls()).join('\n')).toMatch(/nginx/);
    expect(installs(calls()).join('\n')).toMatch(/redis-server/);
    expect(installs(calls()).join('\n')).toMatch(/prometheus/);
    expect(installs(calls()).join('\n')).toMatch(/chromium/);
  });

  it('--for up installs what up needs (nginx, redis-server) and not what only the tests need (Prometheus, Chromium)', async () => {
    const { bin, calls } = sandbox({ uid: 0, sudo: false });
    const result = await install(bin, ['--for', 'up']);
    expect(result.code, result.output).toBe(0);
    expect(installs(calls()).join('\n')).toMatch(/nginx/);
    expect(installs(calls()).join('\n')).toMatch(/redis-server/);
    expect(installs(calls()).join('\n')).not.toMatch(/prometheus|chromium/);
  });

  it('not root, runs apt-get through sudo and says so', async () => {
    const { bin, calls } = sandbox({ uid: 1000, sudo: true });
    const result = await install(bin, ['--for', 'up']);
    expect(result.code, result.output).toBe(0);
    const aptCalls = calls().filter((c) => c.includes('apt-get'));
    expect(aptCalls.length).toBeGreaterThan(0);
    // Each apt-get ran under sudo: the stub logs "sudo …" and then the apt-get it runs.
    expect(calls().filter((c) => c.startsWith('sudo')).length).toBe(calls().filter((c) => c.startsWith('apt-get')).length);
    expect(result.output).toMatch(/sudo/);
  });

  it('not root and no sudo: stops before installing, saying what it needs root for and how to get it', async () => {
    const { bin, calls } = sandbox({ uid: 1000, sudo: false });
    const result = await install(bin, ['--for', 'up']);
    expect(result.code).not.toBe(0);
    expect(calls().filter((c) => c.startsWith('apt-get'))).toEqual([]);
    expect(result.output).toMatch(/root/);
    expect(result.output).toMatch(/nginx/);
    expect(result.output).toMatch(/sudo/);
  });

  it('refuses an unknown --for with its usage', async () => {
    const { bin } = sandbox({ uid: 0, sudo: false });
    const result = await install(bin, ['--for', 'everything']);
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/usage: .*--for up\|test/);
  });
});
