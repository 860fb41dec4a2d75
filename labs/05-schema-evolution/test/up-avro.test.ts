/**
 * `npm run up -- --avro` runs lab 05 from the one command: the real infra/up.ts on a temporary run
 * folder and free ports, an event through nginx stored in the Confluent wire format, applied by
 * lab 05's worker and counted by lab 06's stream processor, then `npm run down`.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../infra/processes.js';
import { isOurs, readPids } from '../../../infra/stack.js';
import { recordsWithKey, streamsLogLines, upRunFixture, waitForCommittedLogins, waitForProfile } from '../../../infra/test/full-stack.js';
import { httpRequest } from '../../../shared/http.js';
import { readWire } from '../src/wire-format.js';

const { runDir, run, onFreePorts } = upRunFixture('up-avro-test');

describe('npm run up -- --avro', () => {
  it("an event through nginx is stored as Confluent-framed Avro (byte 0, schema id), applied by lab 05's v2 worker with its device, and counted by lab 06's stream processor; down stops it all", async () => {
    const stack = await onFreePorts();
    const up = await run('infra/up.ts', ['--avro']);
    expect(up.stderr + up.stdout).toContain('crm-event-lab is up, writing Avro:');
    expect(up.code).toBe(0);

    const event = { user_id: 'user_up_avro', event_type: 'login', properties: { plan: 'pro' }, device: { type: 'mobile', os: 'iOS' } };
    const accepted = await httpRequest({ url: `http://127.0.0.1:${stack.nginx}/track`, body: event });
    expect(accepted.status).toBe(202);
    const eventId = accepted.body.event_id as string;

    const [stored] = await recordsWithKey(stack.brokers, 'crm-events', 'user_up_avro');
    const wire = readWire(stored!.value);
    expect(stored!.value![0]).toBe(0);
    expect(wire).toMatchObject({ format: 'avro', schemaId: expect.any(Number) });

    // Lab 05's worker read it with reader schema v2: the profile, and the device a JSON-only worker has no place for.
    expect((await waitForProfile(runDir, 'user_up_avro')).login_count).toBe(1);
    const db = new Database(join(runDir, 'profiles.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT event_id, device_type, os FROM device_sightings WHERE user_id = ?').all('user_up_avro'))
        .toEqual([{ event_id: eventId, device_type: 'mobile', os: 'iOS' }]);
    } finally {
      db.close();
    }

    // Lab 06 decoded it too (lab 05's decoder): the login is counted, and nothing was skipped as unparseable.
    expect(await waitForCommittedLogins(stack.brokers, 'user_up_avro')).toEqual([{ user_id: 'user_up_avro', login_count: 1, event_id: eventId }]);
    const progress = await waitFor('a progress line of streams-1 that counts the event', () =>
      streamsLogLines(runDir, 'streams-1', 'progress').find((line) => line.processed >= 1), { timeoutMs: 30_000, intervalMs: 500 });
    expect(progress.unparseable).toBe(0);

    const down = await run('infra/down.ts');
    expect(down.code).toBe(0);
    expect(readPids(runDir).filter(isOurs)).toEqual([]);
  }, 300_000);
});
