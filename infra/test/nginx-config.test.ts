import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderDockerNginxConf, renderNginxConf } from '../nginx.js';
import { repoRoot } from '../paths.js';

describe('nginx config', () => {
  it('docker-compose runs the config the native tests run, rendered from the same template when its image is built', () => {
    // infra/images/build.sh renders it into crm-lab/compose-nginx; system/test/compose.test.ts runs it.
    expect(readFileSync(join(repoRoot, 'infra', 'images', 'build.sh'), 'utf8')).toContain('infra/nginx.ts --docker');
    const conf = renderDockerNginxConf();
    expect(conf).toContain('server api:8000 max_fails=0;');
    // The temp paths must exist in the image (the seed's compose file pointed nginx at missing ones).
    expect(conf).toContain('client_body_temp_path /tmp/nginx/tmp/client_body;');
    expect(readFileSync(join(repoRoot, 'infra', 'images', 'nginx', 'Dockerfile.compose'), 'utf8')).toContain('mkdir -p /tmp/nginx/tmp');
  });

  it('compose uses the seed\'s addresses: the edge on 8081 (published on 127.0.0.1), service api on 8000 behind one upstream name', () => {
    const conf = renderDockerNginxConf();
    const compose = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');
    expect(conf).toContain('listen 0.0.0.0:8081 backlog=4096;');
    expect([...conf.matchAll(/^\s*server (\S+) max_fails/gm)].map((m) => m[1])).toEqual(['api:8000']);
    expect(compose).toContain('"127.0.0.1:${NGINX_PORT:-8081}:8081"');
    expect(/API_PORT: "(\d+)"/.exec(compose)?.[1]).toBe('8000');
    // The replicas' healthcheck asks the port they listen on.
    expect(compose).toContain('/dev/tcp/127.0.0.1/8000');
  });

  it('compose\'s nginx connects from its fixed address, the only one the replicas trust', () => {
    const bound = /proxy_bind (\S+);/.exec(renderDockerNginxConf())?.[1];
    const compose = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');
    expect(bound).toBe('172.28.0.10');
    expect(/ipv4_address: (\S+)/.exec(compose)?.[1]).toBe(bound);
    expect(/TRUST_PROXY: (\S+)/.exec(compose)?.[1]).toBe(bound);
  });

  it('fills every placeholder: limits, upstreams no failure count marks dead (max_fails=0), keepalive 256', () => {
    const conf = renderNginxConf({ upstreams: ['127.0.0.1:1', '127.0.0.1:2'], host: '127.0.0.1', port: 8080, rate: 20, burst: 50, workers: 1, prefix: '/tmp/x' });
    expect(conf).not.toMatch(/\{\{\w+\}\}/);
    expect(conf).toContain('rate=20r/s');
    expect(conf).toContain('burst=50 nodelay');
    expect(conf).toContain('server 127.0.0.1:2 max_fails=0;');
    // A slow replica stays in the rotation; a dead one refuses the connection and the request moves on.
    expect(conf).not.toMatch(/^\s*server .*(max_fails=[1-9]|fail_timeout)/m);
    expect(conf).toContain('proxy_next_upstream error timeout non_idempotent;');
    expect(conf).toContain('keepalive 256;');
  });

  it('lab 07\'s TLS mode serves HTTPS on the port and refuses plain HTTP on a second one; without it, no TLS at all', () => {
    const base = { upstreams: ['127.0.0.1:1'], host: '127.0.0.1', port: 8443, rate: 20, burst: 50, workers: 1, prefix: '/tmp/x' };
    const plain = renderNginxConf(base);
    expect(plain).not.toMatch(/ssl|https_required/);
    const tls = renderNginxConf({ ...base, tls: { certFile: '/c/nginx.pem', keyFile: '/c/nginx.key' }, plainHttpPort: 8080 });
    expect(tls).not.toMatch(/\{\{\w+\}\}/);
    expect(tls).toContain('listen 127.0.0.1:8443 ssl backlog=4096;');
    expect(tls).toContain('ssl_certificate /c/nginx.pem;');
    expect(tls).toMatch(/listen 127\.0\.0\.1:8080;\s+client_max_body_size 64k;\s+location \/ \{\s+default_type application\/json;\s+return 403 '\{"error":"https_required"/);
    expect(() => renderNginxConf({ ...base, tls: { certFile: 'c', keyFile: 'k' } })).toThrow(/plainHttpPort/);
  });
});
