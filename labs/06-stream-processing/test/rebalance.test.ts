import { describe, expect, it } from 'vitest';
import { waitFor, type ManagedProcess } from '../../../infra/processes.js';
import { anomaliesOf, judge } from './judge.js';
import {
  committedTotal, createStreamsTopics, logDirFor, logLines, produceAll, readOutputs, startProcessor, uniqueSettings, waitCaughtUp, lab06Fixture,
} from './harness.js';
import { generateWorkload } from './workload.js';

const f = lab06Fixture('lab06-rebalance-test');
const { brokers, kafka, processes } = f;
const PARTITIONS = 4;
const GRACE_MS = 10 * 60_000;

/** Partitions a processor opened, with the changelog records it restored for each. */
const opened = (proc: ManagedProcess) =>
  logLines(proc, 'task opened: state restored').map((l) => ({ partition: l.partition as number, restored: l.changelogRecords as number }));

describe('rebalance', () => {
  it('a second processor joining, then leaving, takes each partition\'s state with it; the outputs stay exact', async () => {
    const s = uniqueSettings('lab06-rebalance', { GRACE_MS: String(GRACE_MS), COMMIT_INTERVAL_MS: '300', MAX_BYTES_PER_PARTITION: '8192' });
    await createStreamsTopics(brokers, s, PARTITIONS);
    const { events, expected } = generateWorkload({ users: 40, hours: 4, eventsPerUserHour: 8, partitions: PARTITIONS, graceMs: GRACE_MS, seed: 11 });
    const third = Math.ceil(events.length / 3);
    const logDir = logDirFor('lab06-rebalance');
    const total = () => committedTotal(f.admin, s.STREAMS_APP_ID, s.STREAMS_INPUT_TOPIC);

    // Phase 1: A alone owns all four partitions.
    await produceAll(kafka, s.STREAMS_INPUT_TOPIC, events.slice(0, third));
    const a = startProcessor('proc-a', brokers, s.env, logDir);
    processes.push(a);
    await waitCaughtUp(f.admin, s.STREAMS_APP_ID, s.STREAMS_INPUT_TOPIC);

    // Phase 2: B joins and takes partitions from A; on their first batch it restores A's committed state for them.
    const b = startProcessor('proc-b', brokers, s.env, logDir);
    processes.push(b);
    const joined = await waitFor('B to be assigned partitions', () =>
      logLines(b, 'joined the group').map((l) => l.assigned as number[]).find((assigned) => assigned.length > 0), { timeoutMs: 60_000 });
    const before = await total();
    await produceAll(kafka, s.STREAMS_INPUT_TOPIC, events.slice(third, 2 * third));
    await waitCaughtUp(f.admin, s.STREAMS_APP_ID, s.STREAMS_INPUT_TOPIC);
    expect(await total()).toBeGreaterThan(before);
    const moved = opened(b);
    expect(moved.map((t) => t.partition).sort()).toEqual([...joined].sort());
    expect(moved.every((t) => t.restored > 0)).toBe(true);

    // Phase 3: B leaves; A takes its partitions back with the state B committed.
    const aOpenedBefore = opened(a).length;
    await b.stop();
    await produceAll(kafka, s.STREAMS_INPUT_TOPIC, events.slice(2 * third));
    await waitCaughtUp(f.admin, s.STREAMS_APP_ID, s.STREAMS_INPUT_TOPIC);
    // Every partition B had comes back to A, restored from B's committed state. (A may also reopen a
    // partition it kept, when the group rebalances more than once: that is allowed, and restored too.)
    const movedPartitions = moved.map((t) => t.partition);
    const returned = opened(a).slice(aOpenedBefore);
    const cameBack = returned.filter((t) => movedPartitions.includes(t.partition));
    expect([...new Set(cameBack.map((t) => t.partition))].sort()).toEqual([...movedPartitions].sort());
    expect(returned.every((t) => t.restored > 0)).toBe(true);

    const observed = await readOutputs(brokers, s, 'read_committed');
    expect(anomaliesOf(judge(expected, observed))).toEqual({});
  });
});
