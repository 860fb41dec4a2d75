/** The runtime switch and the image names: checks that need no Docker, so they run on every route. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, versions } from '../paths.js';
import { images } from '../runtime/containers/images.js';
import { labRuntime } from '../runtime/runtime.js';

describe('LAB_RUNTIME', () => {
  it('is native unless set, and containers when asked', () => {
    expect(labRuntime({})).toBe('native');
    expect(labRuntime({ LAB_RUNTIME: 'containers' })).toBe('containers');
  });

  it('refuses an unknown runtime, naming the valid ones', () => {
    expect(() => labRuntime({ LAB_RUNTIME: 'docker' })).toThrow('LAB_RUNTIME=docker is not a runtime: use native or containers');
  });
});

describe('image names', () => {
  const buildScript = readFileSync(join(repoRoot, 'infra', 'images', 'build.sh'), 'utf8');
  const compose = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');

  it('carry the versions pinned in infra/versions.env', () => {
    expect(images.kafka).toBe(`crm-lab/kafka:${versions.KAFKA_VERSION}`);
    expect(images.toxiproxy).toBe(`crm-lab/toxiproxy:${versions.TOXIPROXY_VERSION}`);
    expect(images.nginx).toBe(`crm-lab/nginx:${versions.DEBIAN_SUITE}`);
  });

  it('build.sh takes the Debian suite and nginx\'s version from infra/versions.env, not from its own text', () => {
    expect(versions.DEBIAN_SUITE).toBe('bookworm');
    expect(versions.NGINX_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(buildScript).toContain('BASE="crm-lab/debian:$DEBIAN_SUITE"');
    expect(buildScript).toContain('debootstrap --variant=minbase "$DEBIAN_SUITE"');
    expect(buildScript).toContain('source_of nginx "nginx:$NGINX_VERSION"');
    expect(buildScript).toContain('echo "$NGINX_VERSION" >"$ctx/nginx.version"');
    // No suite or nginx version written anywhere else in the script.
    const code = buildScript.split('\n').filter((line) => !line.trimStart().startsWith('#')).join('\n');
    expect(code).not.toMatch(/bookworm|nginx:\d/);
  });

  it('are the ones build.sh builds and docker-compose.yml runs', () => {
    expect(buildScript).toContain('KAFKA_IMAGE="crm-lab/kafka:$KAFKA_VERSION"');
    expect(buildScript).toContain('TOXIPROXY_IMAGE="crm-lab/toxiproxy:$TOXIPROXY_VERSION"');
    expect(buildScript).toContain('NGINX_IMAGE="crm-lab/nginx:$DEBIAN_SUITE"');
    expect(buildScript).toContain(`APP_IMAGE=${images.app}`);
    const composeImages = [...compose.matchAll(/^\s+image: (\S+)$/gm)].map((m) => m[1]);
    expect(new Set(composeImages)).toEqual(new Set([images.kafka, images.app, 'crm-lab/compose-nginx:local']));
    expect(buildScript).toContain('COMPOSE_NGINX_IMAGE=crm-lab/compose-nginx:local');
  });
});
