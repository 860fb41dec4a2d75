/**
 * `npm run up` end to end: the real infra/up.ts on a temporary run folder and free ports, an event
 * through every layer (nginx → API replica → Kafka → worker and stream processor), the registry with
 * lab 05's schemas, then `npm run down`, and `up` again on the same folder to show what persists.
 */
import { describe, expect, it } from 'vitest';
import { httpRequest } from '../../shared/http.js';
import { isOurs, readPids } from '../stack.js';
import { recordsWithKey, streamsLogLines, subjectVersions, upRunFixture, waitForCommittedLogins, waitForProfile } from './full-stack.js';

const { runDir, run, onFreePorts } = upRunFixture('up-test');

describe('npm run up', () => {
  it('starts every component: an event through nginx is 202, applied by a worker and counted by the stream processor; the registry holds v1 and v2; after down and up again the registry still holds what it stored', async () => {
    const stack = await onFreePorts();
    const up = await run('infra/up.ts');
    expect(up.stderr + up.stdout).toContain('crm-event-lab is up:');
    expect(up.code).toBe(0);

    const accepted = await httpRequest({ url: `http://127.0.0.1:${stack.nginx}/track`, body: { user_id: 'user_up_plain', event_type: 'login', properties: { page: '/' } } });
    expect(accepted.status).toBe(202);
    const eventId = accepted.body.event_id as string;
    // Lab 01's replicas write JSON.
    const [stored] = await recordsWithKey(stack.brokers, 'crm-events', 'user_up_plain');
    expect(JSON.parse(stored!.value!.toString()).event_id).toBe(eventId);
    expect((await waitForProfile(runDir, 'user_up_plain')).login_count).toBe(1);

    expect(await subjectVersions(stack.ccompatUrl, 'crm-events-value')).toEqual([1, 2]);

    expect(streamsLogLines(runDir, 'streams-1', 'stream processor started')).toHaveLength(1);
    expect(await waitForCommittedLogins(stack.brokers, 'user_up_plain')).toEqual([{ user_id: 'user_up_plain', login_count: 1, event_id: eventId }]);

    // The Avro stack shares the ports and the run folder: refused while this one runs.
    const avroUp = await run('infra/up.ts', ['--avro']);
    expect(avroUp.code).toBe(1);
    expect(JSON.parse(avroUp.stderr.trim().split('\n').at(-1)!).error).toBe('stack_mode_mismatch');

    // A subject `up` does not register: if it is there after down and up, the registry kept its database.
    const probe = await fetch(`${stack.ccompatUrl}/subjects/up-test-probe-value/versions`, {
      method: 'POST', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ schema: '"string"' }),
    });
    expect(probe.status).toBe(200);

    const down = await run('infra/down.ts');
    expect(down.code).toBe(0);
    expect(readPids(runDir).filter(isOurs)).toEqual([]);

    // Up again without workers or processor (not what is checked here): Kafka and the registry restart on their folders.
    const again = await run('infra/up.ts', [], { WORKERS: '0', STREAM_PROCESSORS: '0' });
    expect(again.code).toBe(0);
    expect(await subjectVersions(stack.ccompatUrl, 'crm-events-value')).toEqual([1, 2]);
    expect(await subjectVersions(stack.ccompatUrl, 'up-test-probe-value')).toEqual([1]);
    expect((await recordsWithKey(stack.brokers, 'crm-events', 'user_up_plain')).length).toBe(1);

    const downAgain = await run('infra/down.ts');
    expect(downAgain.code).toBe(0);
    expect(readPids(runDir).filter(isOurs)).toEqual([]);
  }, 600_000);
});
