import { describe, expect, it } from 'vitest';
import { anomaliesOf, judge } from './judge.js';
import { createStreamsTopics, logDirFor, produceAll, readOutputs, startProcessor, uniqueSettings, waitCaughtUp, lab06Fixture } from './harness.js';
import { generateWorkload } from './workload.js';

const f = lab06Fixture('lab06-large-batch-test');
const { brokers, kafka, processes } = f;
const GRACE_MS = 10 * 60_000;

describe('large batches', () => {
  it('a backlog whose first 1 MB fetch closes thousands of windows is processed exactly: outputs go out in requests under the broker\'s 1 MB limit', async () => {
    // One partition, 5,000 events: one fetch holds about 3,000, and the activity windows they close
    // come to well over message.max.bytes if sent in one request.
    const s = uniqueSettings('lab06-large', { GRACE_MS: String(GRACE_MS), COMMIT_INTERVAL_MS: '500' });
    await createStreamsTopics(brokers, s, 1);
    const { events, expected } = generateWorkload({ users: 50, hours: 4, eventsPerUserHour: 25, partitions: 1, graceMs: GRACE_MS, seed: 5 });
    await produceAll(kafka, s.STREAMS_INPUT_TOPIC, events);
    processes.push(startProcessor('large-1', brokers, s.env, logDirFor('lab06-large')));

    await waitCaughtUp(f.admin, s.STREAMS_APP_ID, s.STREAMS_INPUT_TOPIC, 90_000);
    expect(anomaliesOf(judge(expected, await readOutputs(brokers, s, 'read_committed')))).toEqual({});
  });
});
