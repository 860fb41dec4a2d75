/**
 * Lab 06, exercise 3: an idle-partition timer. Today a window closes only when stream time (the
 * largest event time seen) passes its end plus the grace, so the last hour of a quiet partition
 * stays open until more input comes. Add `IDLE_CLOSE_MS`: after that much wall-clock silence on a
 * partition, close its open windows. The test gives it 2 s and waits up to 30 s for the output.
 * Fails on the reference with: `expected [] to deeply equal [ { user_id: 'idle_user'` (tools/learn/ci.ts checks it does, in CI).
 */
import { describe, expect, it } from 'vitest';
import { sleep } from '../../../infra/processes.js';
import { enrichedEvent } from '../../02-consumer-groups/test/events.js';
import type { HourlyCount } from '../src/outputs.js';
import { createStreamsTopics, logDirFor, produceAll, readAs, startProcessor, uniqueSettings, waitCaughtUp, lab06Fixture } from '../test/harness.js';

const f = lab06Fixture('ex06-idle');
const { brokers, kafka, processes } = f;

describe('lab 06 exercise 3: close windows after wall-clock silence', () => {
  it('3 events in one hour, then silence: with IDLE_CLOSE_MS=2000 the hour\'s count (3 page_views) is written within 30 s, though no later event moves stream time', async () => {
    const s = uniqueSettings('ex06-idle', { IDLE_CLOSE_MS: '2000', COMMIT_INTERVAL_MS: '200' });
    await createStreamsTopics(brokers, s, 1);
    const at = (minute: number) => `2026-01-05T08:${String(minute).padStart(2, '0')}:00.000Z`;
    const events = [10, 20, 30].map((m) => ({ ...enrichedEvent('idle_user', 'page_view'), timestamp: at(m), server_timestamp: at(m) }));
    await produceAll(kafka, s.STREAMS_INPUT_TOPIC, events);
    processes.push(startProcessor('idle-1', brokers, s.env, logDirFor('ex06-idle')));
    await waitCaughtUp(f.admin, s.STREAMS_APP_ID, s.STREAMS_INPUT_TOPIC);

    let hourly: HourlyCount[] = [];
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && hourly.length === 0; await sleep(1_000)) {
      hourly = await readAs<HourlyCount>(brokers, s.HOURLY_TOPIC, 'read_committed');
    }
    expect(hourly.map(({ user_id, window_start, counts, total }) => ({ user_id, window_start, counts, total })))
      .toEqual([{ user_id: 'idle_user', window_start: at(0), counts: { page_view: 3 }, total: 3 }]);
  });
});
