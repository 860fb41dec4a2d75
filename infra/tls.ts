/**
 * Lab 07's local certificate authority: made once with openssl, then reused. The CA signs one
 * server certificate per component (nginx, kafka), valid for localhost and 127.0.0.1; clients trust
 * the CA's certificate (`ca.pem`) and nothing else.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ServerCert {
  caFile: string;
  certFile: string;
  keyFile: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/** Creates `dir/ca.pem` + `dir/ca.key` unless they exist; returns the CA certificate's path. */
export function ensureLocalCa(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const caFile = join(dir, 'ca.pem');
  if (existsSync(caFile) && existsSync(join(dir, 'ca.key'))) return caFile;
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3650',
    '-subj', '/CN=crm-event-lab local CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return caFile;
}

/**
 * A server certificate `dir/<name>.pem` (+ `<name>.key`) signed by the local CA, for localhost,
 * 127.0.0.1 and any extra `hosts`; made once.
 */
export function ensureServerCert(dir: string, name: string, hosts: string[] = []): ServerCert {
  const caFile = ensureLocalCa(dir);
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  if (existsSync(certFile) && existsSync(keyFile)) return { caFile, certFile, keyFile };
  const names = ['DNS:localhost', 'IP:127.0.0.1', ...hosts.map((h) => (/^[\d.]+$/.test(h) ? `IP:${h}` : `DNS:${h}`))];
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${names.join(',')}\nextendedKeyUsage=serverAuth\n`);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`,
    '-days', '825', '-extfile', `${name}.ext`], dir);
  return { caFile, certFile, keyFile };
}
