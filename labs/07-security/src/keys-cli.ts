/**
 * `npm run keys -- create <customer> | list | revoke <key_id>`: manages the write keys in
 * WRITE_KEYS_DB. create prints the key once; every create and revoke is appended to the audit log.
 */
import { pathToFileURL } from 'node:url';
import { appendAudit } from '../../../shared/audit.js';
import { WriteKeyStore } from './write-keys.js';

const usage = 'usage: npm run keys -- create <customer> | list | revoke <key_id>';

export function runKeysCommand(args: string[], store: WriteKeyStore, print: (line: string) => void): number {
  const [command, arg] = args;
  if (command === 'create' && arg) {
    const { keyId, writeKey } = store.create(arg);
    appendAudit({ action: 'keys.create', target: keyId, details: { customer_id: arg } });
    print(`key_id: ${keyId}`);
    print(`customer: ${arg}`);
    print(`write key: ${writeKey}`);
    print('The key is shown this once; only its SHA-256 is stored.');
    return 0;
  }
  if (command === 'list' && !arg) {
    for (const k of store.list()) print(`${k.key_id}\t${k.customer_id}\tcreated ${k.created_at}\t${k.revoked_at ? `revoked ${k.revoked_at}` : 'active'}`);
    return 0;
  }
  if (command === 'revoke' && arg) {
    if (!store.revoke(arg)) {
      print(`no active key ${arg}`);
      return 1;
    }
    appendAudit({ action: 'keys.revoke', target: arg });
    print(`revoked ${arg}: every replica refuses it from its next request`);
    return 0;
  }
  print(usage);
  return 2;
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const store = new WriteKeyStore();
  try {
    process.exitCode = runKeysCommand(process.argv.slice(2), store, (line) => console.log(line));
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  } finally {
    store.close();
  }
}
