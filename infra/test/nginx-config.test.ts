import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderDockerNginxConf, renderNginxConf } from '../nginx.js';
import { repoRoot } from '../paths.js';

describe('nginx config', () => {
  it('docker-compose mounts the same config the native tests run (regenerate with npx tsx infra/nginx.ts --docker)', () => {
    expect(readFileSync(join(repoRoot, 'infra', 'nginx', 'docker.conf'), 'utf8')).toBe(renderDockerNginxConf());
  });

  it('fills every placeholder: limits, upstreams with passive health checks, keepalive 32', () => {
    const conf = renderNginxConf({ upstreams: ['127.0.0.1:1', '127.0.0.1:2'], host: '127.0.0.1', port: 8080, rate: 20, burst: 50, workers: 1, prefix: '/tmp/x' });
    expect(conf).not.toMatch(/\{\{\w+\}\}/);
    expect(conf).toContain('rate=20r/s');
    expect(conf).toContain('burst=50 nodelay');
    expect(conf).toContain('server 127.0.0.1:2 max_fails=1 fail_timeout=5s;');
    expect(conf).toContain('keepalive 32;');
  });
});
