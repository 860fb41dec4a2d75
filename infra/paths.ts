import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Repository root (the folder holding package.json). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where infra/install.sh caches pinned downloads, outside the repo. */
export const cacheDir = process.env.CRM_LAB_CACHE ?? join(homedir(), '.cache', 'crm-event-lab');

/** Pinned versions shared with infra/install.sh. */
export const versions: Record<string, string> = Object.fromEntries(
  readFileSync(join(repoRoot, 'infra', 'versions.env'), 'utf8')
    .split('\n')
    .filter((line) => /^\w+=/.test(line))
    .map((line) => line.split('=', 2) as [string, string]),
);

export const kafkaLibs = join(cacheDir, `kafka-${versions.KAFKA_VERSION}`, 'libs');
export const toxiproxyServerBin = join(cacheDir, `toxiproxy-${versions.TOXIPROXY_VERSION}`, 'toxiproxy-server');
export const nginxBin = process.env.NGINX_BIN ?? '/usr/sbin/nginx';
/** Lab 07's shared rate-limit store (Debian's redis-server). */
export const redisServerBin = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';
