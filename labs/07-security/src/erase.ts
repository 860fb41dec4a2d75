/**
 * `npm run erase -- <user_id>`: the right to be forgotten on an immutable log.
 *
 * 1. Deletes the user's data keys (crypto-shredding): every copy of their PII in crm-events, the
 *    retry topic, the DLQ and any backup of them is ciphertext nobody can open any more.
 * 2. Deletes their profile and contact rows (PROFILE_DB), recording the erased key ids there.
 * 3. Writes a tombstone (key = user_id, value null) to each ERASE_TOMBSTONE_TOPICS topic: compacted
 *    topics keyed by user, whose older values compaction then removes. Refused for a topic that is
 *    not compacted (a tombstone there deletes nothing). None of labs 01–06's topics qualifies, so the
 *    list is empty by default (docs/privacy.md says why).
 * 4. Appends an `erase` entry to the audit log.
 *
 * Idempotent: a second run deletes nothing more, exits 0, and is audited too.
 */
import kafkajs from 'kafkajs';
import { z } from 'zod';
import { appendAudit } from '../../../shared/audit.js';
import { loadConfig } from '../../../shared/config.js';
import { createEventProducer, createKafka } from '../../../shared/kafka.js';
import { WorkerEnv } from '../../02-consumer-groups/src/worker-process.js';
import { KeyStore, keyStorePath } from './pii/key-store.js';
import { PiiProfileStore } from './pii-profile-store.js';

const { ConfigResourceTypes } = kafkajs; // CommonJS: its enums are not named exports under ESM
const config = loadConfig();
const { PROFILE_DB } = WorkerEnv.pick({ PROFILE_DB: true }).parse(process.env);
const { ERASE_TOMBSTONE_TOPICS } = z.object({ ERASE_TOMBSTONE_TOPICS: z.string().default('') }).parse(process.env);
const tombstoneTopics = ERASE_TOMBSTONE_TOPICS.split(',').map((t) => t.trim()).filter(Boolean);
const userId = process.argv[2];
if (!userId) {
  console.error('usage: npm run erase -- <user_id>');
  process.exit(2);
}

const kafka = createKafka(config.kafkaBrokers, 'crm-lab-erase');

/** Topics whose cleanup.policy has no `compact`: a tombstone there would delete nothing. */
async function notCompacted(topics: string[]): Promise<string[]> {
  if (topics.length === 0) return [];
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({ includeSynonyms: false,
      resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy'] })) });
    return resources.filter((r) => !r.configEntries.some((e) => e.configName === 'cleanup.policy' && e.configValue.includes('compact')))
      .map((r) => r.resourceName);
  } finally {
    await admin.disconnect();
  }
}

const refused = await notCompacted(tombstoneTopics);
if (refused.length > 0) {
  console.error(`refusing to erase: ${refused.join(', ')} ${refused.length === 1 ? 'is' : 'are'} not compacted (cleanup.policy), so a tombstone there deletes nothing; `
    + 'list only compacted topics keyed by user_id in ERASE_TOMBSTONE_TOPICS');
  process.exit(2);
}

/** Empties a store's WAL (its older copies of the deleted pages), waiting for readers of older snapshots to move on. */
async function truncateWal(store: { truncateWal(): boolean }, file: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (store.truncateWal()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  console.warn(`${file}: its WAL could not be emptied (a reader held on for 5 s); it may still hold deleted pages until its next checkpoint`);
}

const keys = new KeyStore(keyStorePath());
const kids = keys.erase(userId);
await truncateWal(keys, keyStorePath());
keys.close();
console.log(`${userId}: ${kids.length} data key(s) deleted from ${keyStorePath()}`);

const store = new PiiProfileStore(PROFILE_DB);
const rows = store.eraseUser(userId, kids);
await truncateWal(store, PROFILE_DB);
store.close();
console.log(`${userId}: ${rows.profiles} profile row(s) and ${rows.contacts} contact row(s) deleted from ${PROFILE_DB}`);

if (tombstoneTopics.length > 0) {
  const producer = createEventProducer(kafka);
  await producer.connect();
  try {
    for (const topic of tombstoneTopics) await producer.send({ topic, acks: -1, messages: [{ key: userId, value: null }] });
  } finally {
    await producer.disconnect();
  }
  console.log(`${userId}: tombstone written to ${tombstoneTopics.join(', ')}`);
}

const entry = appendAudit({ action: 'erase', target: userId,
  details: { keys_deleted: kids, profile_rows: rows.profiles, contact_rows: rows.contacts, tombstones: tombstoneTopics } });
console.log(`${userId}: erased (audit entry at ${entry.at} by ${entry.actor})`);
