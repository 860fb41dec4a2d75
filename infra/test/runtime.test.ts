/** The runtime switch and the image names: checks that need no Docker, so they run on every route. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, versions } from '../paths.js';
import { images } from '../runtime/containers/images.js';
import { foldersOfPathsIn } from '../runtime/containers/launcher.js';
import { parseGroupOffsets, parseGroupState, parseOffsets } from '../runtime/containers/compose-kafka.js';
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
    expect(images.redis).toBe(`crm-lab/redis:${versions.DEBIAN_SUITE}`);
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
    expect(buildScript).toContain('REDIS_IMAGE="crm-lab/redis:$DEBIAN_SUITE"');
    expect(buildScript).toContain('build "$REDIS_IMAGE" "$here/redis/Dockerfile" "$ctx" "$BASE"');
    expect(buildScript).toContain(`APP_IMAGE=${images.app}`);
    const composeImages = [...compose.matchAll(/^\s+image: (\S+)$/gm)].map((m) => m[1]);
    expect(new Set(composeImages)).toEqual(new Set([images.kafka, images.app, 'crm-lab/compose-nginx:local']));
    expect(buildScript).toContain('COMPOSE_NGINX_IMAGE=crm-lab/compose-nginx:local');
  });
});

describe('a lab process in a container', () => {
  it('gets the folder of each existing host path its env names mounted (lab 07\'s write-key DB), and nothing for other values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-runtime-'));
    expect(foldersOfPathsIn({
      WRITE_KEYS_DB: join(dir, 'write-keys.db'), KAFKA_BROKERS: '127.0.0.1:9092', API_ALLOWED_PEERS: '127.0.0.254',
      MISSING: '/no/such/folder/x.db', ROOT_FILE: '/x.db',
    })).toEqual([dir]);
    rmSync(dir, { recursive: true });
  });
});

describe('Kafka tool output, as the compose test reads it inside the broker container', () => {
  // Captured from the Kafka 3.9.2 tools in crm-lab/kafka, run against docker-compose.yml's broker.
  const describeOutput = `
GROUP                TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID                                              HOST            CLIENT-ID
crm-event-processors crm-events      1          2               2               0               worker-8acb31a0272b-351cdc60-cc26-4d18-ad35-bd8783261464 /172.28.0.3     worker-8acb31a0272b
crm-event-processors crm-events      0          -               1               -               worker-e4880e657d05-f896b7bd-3e50-4fe2-8e05-4ed317978aa1 /172.28.0.4     worker-e4880e657d05
crm-event-processors crm-events-retry 0         0               0               0               worker-e4880e657d05-f896b7bd-3e50-4fe2-8e05-4ed317978aa1 /172.28.0.4     worker-e4880e657d05`;

  it('end offsets per partition from GetOffsetShell', () => {
    expect([...parseOffsets('crm-events:0:1\ncrm-events:1:2\n', 'crm-events')]).toEqual([[0, 1], [1, 2]]);
  });

  it('committed offsets of one topic from ConsumerGroupCommand --describe, none when nothing is committed', () => {
    expect(parseGroupOffsets(describeOutput, 'crm-event-processors', 'crm-events')).toEqual([
      { partition: 0, committed: null, end: 1, lag: null },
      { partition: 1, committed: 2, end: 2, lag: 0 },
    ]);
  });

  it('state and member count from ConsumerGroupCommand --describe --state', () => {
    const output = `GROUP                     COORDINATOR (ID)          ASSIGNMENT-STRATEGY  STATE           #MEMBERS
crm-event-processors      kafka:9092  (1)           RoundRobinAssigner   Stable          2`;
    expect(parseGroupState(output, 'crm-event-processors')).toEqual({ state: 'Stable', members: 2 });
    expect(parseGroupState('', 'crm-event-processors')).toBeUndefined();
  });
});
