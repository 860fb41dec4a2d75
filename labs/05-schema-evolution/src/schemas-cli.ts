/**
 * `npm run schemas -- register | list | check <file.avsc>` against SCHEMA_REGISTRY_URL, for the
 * subject of KAFKA_TOPIC: register v1 and v2 (what `up` does), list the subject, or ask the
 * registry whether a candidate schema would be accepted, without registering it.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../../shared/config.js';
import { registerSchemas } from './schema-registry.js';
import { subjectOf } from './schemas.js';
import { SchemaEnv } from './settings.js';

const config = loadConfig();
const { SCHEMA_REGISTRY_URL: url } = SchemaEnv.parse(process.env);
const subject = subjectOf(config.KAFKA_TOPIC);
const [command = 'list', file] = process.argv.slice(2);

/** The registry's JSON answer; 404 and 409 are answers too, anything else not 2xx is an error. */
async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok && response.status !== 404 && response.status !== 409) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
  return { status: response.status, body: JSON.parse(text) };
}

if (command === 'register') {
  const ids = await registerSchemas(url, config.KAFKA_TOPIC);
  console.log(`${subject}: v1 = schema id ${ids[1]}, v2 = schema id ${ids[2]}`);
} else if (command === 'list') {
  const versions = await call('GET', `/subjects/${subject}/versions`);
  if (versions.status === 404) {
    console.log(`${subject}: not registered yet (npm run schemas -- register)`);
  } else {
    console.log(`${subject}: compatibility ${(await call('GET', `/config/${subject}`)).body.compatibilityLevel}`);
    for (const version of versions.body as number[]) {
      const { body: v } = await call('GET', `/subjects/${subject}/versions/${version}`);
      const fields = (JSON.parse(v.schema) as { fields: { name: string }[] }).fields.map((f) => f.name);
      console.log(`  version ${v.version}  schema id ${v.id}  fields: ${fields.join(', ')}`);
    }
  }
} else if (command === 'check' && file) {
  const { body: answer } = await call('POST', `/compatibility/subjects/${subject}/versions/latest?verbose=true`, { schema: readFileSync(file, 'utf8') });
  console.log(`${file} as the next version of ${subject}: ${answer.is_compatible ? 'compatible' : 'INCOMPATIBLE'}`);
  for (const message of answer.messages ?? []) console.log(`  ${message}`);
  process.exitCode = answer.is_compatible ? 0 : 1;
} else {
  console.error('usage: npm run schemas -- register | list | check <file.avsc>');
  process.exitCode = 2;
}
