/**
 * Region A dies mid-stream (its broker and MirrorMaker SIGKILLed while the load runs), then B is
 * promoted; and a planned switchover with A healthy. Every count comes from the history
 * (src/failover-checker.ts): what A acked, what B holds, what each region applied, what B re-read.
 * The re-read bound after a planned switchover is MirrorMaker's offset-sync granularity,
 * `offset.lag.max` per partition; after a crash, what A applied after its last checkpoint reached B
 * plus the distance back to the offset sync that checkpoint was translated from.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { restartKafka } from '../../../infra/kafka.js';
import { mirrorDefaults } from '../../../infra/mirror-maker.js';
import { repoRoot } from '../../../infra/paths.js';
import { waitFor, type ManagedProcess } from '../../../infra/processes.js';
import { createKafka } from '../../../shared/kafka.js';
import { createRegistry } from '../../../shared/metrics.js';
import { checkFailover, verdictLine, type FailoverVerdict, type LogRecord } from '../src/failover-checker.js';
import { promote, type Promotion } from '../src/failover.js';
import { latestCheckpoints, readCheckpoints, readOffsetSyncs } from '../src/offset-translation.js';
import { replicationLagGauge } from '../src/replication-lag.js';
import { GROUP, SOURCE_TOPIC, startRegions, type Regions } from '../src/regions.js';
import { drain, ensureLocalTopic, Ledger, load, profileDbIn, readLog, startApi, startWorkers, storeRows } from '../src/scenario.js';
import { reportTimeline } from '../../03-failure/src/chaos.js';

const exec = promisify(execFile);
const started: (() => Promise<void>)[] = [];
const own = (p: ManagedProcess) => started.push(() => p.kill());
afterEach(async () => {
  for (const stop of started.splice(0).reverse()) await stop().catch(() => undefined);
});

/** MirrorMaker's offset.lag.max in these runs: infra/mirror-maker.ts's default, or LAB08_MIRROR_SETTINGS's. */
const LAG_MAX = Number(mirrorOverrides()?.['offset.lag.max'] ?? mirrorDefaults['offset.lag.max']);

function sentEvents(ledger: Ledger) {
  return ledger.deliveries.map((d) => ({ event_id: d.event_id, user_id: String(d.event.user_id), client: d.client, acked: d.delivered }));
}

/** Per partition of B: how many events B re-read. */
function rereadByPartition(v: FailoverVerdict, logB: LogRecord[]): Map<number, number> {
  const partitionOf = new Map(logB.map((r) => [r.event_id, r.partition]));
  const out = new Map<number, number>([[0, 0], [1, 0]]);
  for (const id of v.reread) out.set(partitionOf.get(id)!, (out.get(partitionOf.get(id)!) ?? 0) + 1);
  return out;
}

/** Offsets on A's topic, per partition, one past the last event A's workers applied (from the store's rows). */
function appliedEndInA(logA: LogRecord[], appliedInA: Set<string>): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of logA) if (r.event_id && appliedInA.has(r.event_id)) out.set(r.partition, Math.max(out.get(r.partition) ?? 0, r.offset + 1));
  return out;
}

/** After the promotion: B's workers consume the mirrored topic from the translated offsets to its end, then stop. */
/** What both failovers must show: B's copy is A's log, nothing stray or reordered, every event applied once with exact profiles, and B re-read exactly what the offsets predict. */
function expectNoAnomaly(v: FailoverVerdict): void {
    expect(v.diverged).toEqual([]);
    expect(v.stray).toEqual([]);
    expect(v.reordered).toEqual([]);
    expect(v.unapplied).toEqual([]);
    expect(v.wrongProfile).toEqual([]);
    expect([...v.reread].sort()).toEqual([...v.expectedReread].sort());
}

/** Both regions with MirrorMaker A→B, and the pipeline in region A: its API and 2 workers. */
async function pipelineInRegionA(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const regions = await startRegions({ dir: join(dir, 'regions'), mirrorSettings: mirrorOverrides() });
  started.push(() => regions.close());
  const api = await startApi({ region: 'A', brokers: regions.a.brokers, dir });
  own(api.process);
  const workersA = startWorkers({ region: 'A', ids: [1, 2], brokers: regions.a.brokers, topic: SOURCE_TOPIC, profileDb: profileDbIn(dir), dir });
  workersA.forEach((w) => own(w.process));
  return { dir, regions, api, workersA };
}

async function consumeReplica(regions: Regions, dir: string): Promise<void> {
  const workers = startWorkers({ region: 'B', ids: [1, 2], brokers: regions.b.brokers, topic: regions.mirroredTopic, profileDb: profileDbIn(dir), dir });
  workers.forEach((w) => own(w.process));
  await drain(regions.b.brokers, regions.mirroredTopic);
  await Promise.all(workers.map((w) => w.process.stop()));
}

/** B takes traffic: its own `crm-events`, an API replica pointed at it, a worker; every 202 applied once. */
async function serveFromB(regions: Regions, dir: string, label: string): Promise<{ acked: number; applied: number }> {
  await ensureLocalTopic(regions.b.brokers);
  const api = await startApi({ region: 'B', brokers: regions.b.brokers, dir });
  own(api.process);
  const [worker] = startWorkers({ region: 'B', ids: [3], brokers: regions.b.brokers, topic: SOURCE_TOPIC, profileDb: profileDbIn(dir), dir });
  own(worker!.process);
  const ledger = new Ledger();
  await load({ baseUrl: api.url, ledger, label: `${label}_b`, clients: 2, ratePerClient: 20, maxEvents: 60, firstAddress: 20 });
  await drain(regions.b.brokers, SOURCE_TOPIC);
  const acked = new Set(ledger.delivered().map((d) => d.event_id));
  const appliedInB = new Set(storeRows(profileDbIn(dir)).applied.filter((a) => a.region === 'B').map((a) => a.event_id));
  return { acked: acked.size, applied: [...acked].filter((id) => appliedInB.has(id)).length };
}

describe('lab 08: MirrorMaker 2 from region A to region B, failover counted event by event', () => {
  it('region A dies mid-stream: what A acked is in B or counted as lost (its tail), B re-reads exactly what A applied past the translated offset (checkpoint staleness + sync granularity), and applies each event once', async () => {
    const { dir, regions, api, workersA } = await pipelineInRegionA('lab08-unplanned-');

    const ledger = new Ledger();
    let stopLoad = false;
    const running = load({ baseUrl: api.url, ledger, label: 'unplanned', clients: 4, ratePerClient: 25, maxEvents: 20_000, stop: () => stopLoad, firstAddress: 1 });
    // Mid-stream: enough acked, and B holds a checkpoint of the group for both partitions (synced into B's group offsets).
    const adminB = createKafka(regions.b.brokers, 'lab08-test').admin();
    await adminB.connect();
    try {
      await waitFor('400 acks and a checkpoint per partition on B', async () => {
        if (ledger.delivered().length < 400) return false;
        const [offsets] = await adminB.fetchOffsets({ groupId: GROUP, topics: [regions.mirroredTopic] });
        return offsets!.partitions.every((p) => Number(p.offset) > 0);
      }, { timeoutMs: 90_000, intervalMs: 250 });
    } finally {
      await adminB.disconnect();
    }
    const endFault = ledger.fault('region A: broker and MirrorMaker SIGKILLed');
    await Promise.all([regions.a.process.kill(), regions.mm2.process.kill()]);
    // The clients stop once the answers to what was in flight are in.
    stopLoad = true;
    await running;
    endFault();
    // Failover: what is left of A's consumers stops; B's group resumes from the translated offsets.
    await Promise.all([api.process.kill(), ...workersA.map((w) => w.process.kill())]);
    const promotion = await promote({ brokers: regions.b.brokers, group: GROUP, mirroredTopic: regions.mirroredTopic, checkpointsTopic: regions.mm2.checkpointsTopic });
    await consumeReplica(regions, dir);
    const served = await serveFromB(regions, dir, 'unplanned');

    // A is repaired only to read what it had acked: the oracle of the lost tail.
    const repaired = await restartKafka(regions.a);
    started.push(() => repaired.process.kill());
    const logA = await readLog(repaired.brokers, SOURCE_TOPIC);
    const logB = await readLog(regions.b.brokers, regions.mirroredTopic);
    const rows = storeRows(profileDbIn(dir));
    const v = checkFailover({ sent: sentEvents(ledger), logA, logB, shift: regions.shift, resumedAt: promotion.resumedAt, ...rows });
    const reread = rereadByPartition(v, logB);
    const appliedEnd = appliedEndInA(logA, new Set(rows.applied.filter((a) => a.region === 'A').map((a) => a.event_id)));
    const bounds = rereadBounds(regions, promotion, appliedEnd);
    console.log(`[lab08 unplanned] ${verdictLine(v)} | reread_by_partition=${fmt(reread)} bound=${fmt(bounds.bound)} `
      + `(checkpoint_staleness=${fmt(bounds.staleness)} + sync_granularity=${fmt(bounds.granularity)}) shift=${fmt(regions.shift)} `
      + `resumed_at=${fmt(promotion.resumedAt)} | B served: acked=${served.acked} applied=${served.applied}`);
    reportTimeline('lab08-unplanned-failover', ledger);

    // Where B resumed, mapped back to A's offsets with the shift the harness made itself, is at or
    // before the group's checkpointed commit on A: the translation never skips past what A committed.
    for (const [p, c] of promotion.checkpoints) {
      expect(promotion.resumedAt.get(p)! + regions.shift.get(p)!, `resume position of partition ${p} in A's offsets`).toBeLessThanOrEqual(Number(c.upstreamOffset));
    }
    const ackedIds = new Set(ledger.delivered().map((d) => d.event_id));
    const inA = new Set(logA.map((r) => r.event_id));
    expect([...ackedIds].filter((id) => !inA.has(id)), 'acked but not in A\'s own log').toEqual([]);
    expect(v.replicated.length + v.lostInFailover.length).toBe(v.acked);
    // What B lacks is A's tail: each lost event sits past B's end (+ shift) in its partition.
    const endB = new Map<number, number>();
    for (const r of logB) endB.set(r.partition, Math.max(endB.get(r.partition) ?? 0, r.offset + 1));
    const aPosition = new Map(logA.map((r) => [r.event_id, r]));
    for (const id of v.lostInFailover) {
      const r = aPosition.get(id)!;
      expect(r.offset).toBeGreaterThanOrEqual((endB.get(r.partition) ?? 0) + regions.shift.get(r.partition)!);
    }
    expectNoAnomaly(v);
    for (const [p, n] of reread) expect(n, `partition ${p}`).toBeLessThanOrEqual(bounds.bound.get(p)!);
    // Each checkpoint is MM2's rule applied to an offset sync it really wrote: downstream = sync's, +1 unless the commit is the sync's own offset.
    const syncs = await readOffsetSyncs(repaired.brokers, regions.mm2.offsetSyncsTopic);
    for (const [p, c] of promotion.checkpoints) {
      const from = syncs.filter((s) => s.topic === SOURCE_TOPIC && s.partition === p && s.upstreamOffset <= c.upstreamOffset
        && c.downstreamOffset === s.downstreamOffset + (s.upstreamOffset === c.upstreamOffset ? 0n : 1n));
      expect(from.length, `checkpoint ${p}: ${c.upstreamOffset} → ${c.downstreamOffset} from an offset sync`).toBeGreaterThan(0);
    }
    expect(served.applied).toBe(served.acked);
  }, 300_000);

  it('planned switchover (drain, then fail over, A healthy): RPO 0, B re-reads at most offset.lag.max per partition, each refused by the dedupe', async () => {
    const { dir, regions, api, workersA } = await pipelineInRegionA('lab08-planned-');
    const ledger = new Ledger();
    await load({ baseUrl: api.url, ledger, label: 'planned', clients: 4, ratePerClient: 25, maxEvents: 400, firstAddress: 1 });

    // Drain: A's workers finish, B holds all of A's topic, and a checkpoint carries the group's final commit.
    await drain(regions.a.brokers, SOURCE_TOPIC);
    const adminA = createKafka(regions.a.brokers, 'lab08-test').admin();
    await adminA.connect();
    try {
      const [final] = await adminA.fetchOffsets({ groupId: GROUP, topics: [SOURCE_TOPIC] });
      const committed = new Map(final!.partitions.map((p) => [p.partition, Number(p.offset)]));
      await waitFor('a checkpoint of the final commit on B', async () => {
        const latest = latestCheckpoints(await readCheckpoints(regions.b.brokers, regions.mm2.checkpointsTopic), GROUP, regions.mirroredTopic);
        return [...committed].every(([p, o]) => Number(latest.get(p)?.upstreamOffset ?? -1) === o);
      }, { timeoutMs: 60_000, intervalMs: 1_000 });
    } finally {
      await adminA.disconnect();
    }
    // The lag gauge: 0 once drained; with MirrorMaker stopped, each record written to A counts.
    const registry = createRegistry();
    const gauge = replicationLagGauge(registry, { source: 'A', target: 'B', sourceBrokers: regions.a.brokers, targetBrokers: regions.b.brokers,
      topic: SOURCE_TOPIC, mirroredTopic: regions.mirroredTopic, offsetSyncsTopic: regions.mm2.offsetSyncsTopic });
    const lagNow = async () => (await gauge.get()).values.reduce((sum, x) => sum + x.value, 0);
    const lagDrained = await lagNow();
    // The operator's view of the same moment: `npm run region -- status`.
    const status = await regionCli(regions, 'status');
    console.log(`[lab08 planned] npm run region -- status\n${status}`);
    expect(status.match(/lag=0\b/g)?.length).toBe(2);
    await Promise.all([api.process.stop(), ...workersA.map((w) => w.process.stop()), regions.mm2.process.stop()]);
    const producer = createKafka(regions.a.brokers, 'lab08-test').producer();
    await producer.connect();
    await producer.send({ topic: SOURCE_TOPIC, acks: -1, messages: Array.from({ length: 25 }, (_, i) => ({ key: `after_${i}`, value: JSON.stringify({ event_id: `after-switchover-${i}`, user_id: `after_${i}` }) })) });
    await producer.disconnect();
    const lagAfterWrites = await lagNow();
    expect(lagDrained).toBe(0);
    expect(lagAfterWrites).toBe(25);
    // The operator promotes B with the CLI; the group's offsets it committed on B are where B's workers start.
    const failover = await regionCli(regions, 'failover', 'B');
    console.log(`[lab08 planned] npm run region -- failover B\n${failover}`);
    const promotion: Promotion = {
      resumedAt: resumesPrinted(failover),
      checkpoints: latestCheckpoints(await readCheckpoints(regions.b.brokers, regions.mm2.checkpointsTopic), GROUP, regions.mirroredTopic),
    };
    expect(promotion.resumedAt.size).toBe(2);
    expect(await committedOffsets(regions.b.brokers, regions.mirroredTopic)).toEqual(promotion.resumedAt);
    await consumeReplica(regions, dir);

    const logA = await readLog(regions.a.brokers, SOURCE_TOPIC);
    const logB = await readLog(regions.b.brokers, regions.mirroredTopic);
    const rows = storeRows(profileDbIn(dir));
    const v = checkFailover({ sent: sentEvents(ledger), logA, logB, shift: regions.shift, resumedAt: promotion.resumedAt, ...rows });
    const reread = rereadByPartition(v, logB);
    const duplicates = rows.refused.filter((d) => d.region === 'B').length;
    console.log(`[lab08 planned] ${verdictLine(v)} | reread_by_partition=${fmt(reread)} bound=offset.lag.max=${LAG_MAX} per partition `
      + `duplicates_refused_in_B=${duplicates} lag_gauge: drained=${lagDrained} after_25_writes_to_A=${lagAfterWrites} shift=${fmt(regions.shift)} resumed_at=${fmt(promotion.resumedAt)}`);

    expect(v.acked).toBe(400);
    expect(v.lostInFailover).toEqual([]);
    expectNoAnomaly(v);
    expect(duplicates).toBe(v.reread.length);
    for (const [p, n] of reread) expect(n, `partition ${p}`).toBeLessThanOrEqual(LAG_MAX);
    // B resumes at most offset.lag.max before the group's final commit on A (in A's offsets, through the harness's own shift), never after it.
    for (const [p, c] of promotion.checkpoints) {
      const short = Number(c.upstreamOffset) - (promotion.resumedAt.get(p)! + regions.shift.get(p)!);
      expect(short, `resume position of partition ${p}, records before A's commit`).toBeGreaterThanOrEqual(0);
      expect(short, `resume position of partition ${p}, records before A's commit`).toBeLessThanOrEqual(LAG_MAX);
    }
    // The group's final commit is at or past MM2's newest offset sync: the translation is at most offset.lag.max short.
    for (const [p, c] of promotion.checkpoints) {
      expect(Number(c.upstreamOffset) - regions.shift.get(p)! - Number(c.downstreamOffset), `sync granularity, partition ${p}`).toBeLessThanOrEqual(LAG_MAX);
    }
  }, 300_000);
});

/** LAB08_MIRROR_SETTINGS: JSON of MM2 settings over the lab's, to see how the RPO moves (README, exercises). */
function mirrorOverrides(): Record<string, string | number | boolean> | undefined {
  return process.env.LAB08_MIRROR_SETTINGS ? JSON.parse(process.env.LAB08_MIRROR_SETTINGS) : undefined;
}

/** `npm run region -- <args>` on the two running regions; its stdout. */
async function regionCli(regions: Regions, ...args: string[]): Promise<string> {
  return (await exec(join(repoRoot, 'node_modules', '.bin', 'tsx'), ['labs/08-multi-region/src/region-cli.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, REGION_A_BROKERS: regions.a.brokers.join(','), REGION_B_BROKERS: regions.b.brokers.join(','), KAFKA_TOPIC: SOURCE_TOPIC, CONSUMER_GROUP: GROUP },
  })).stdout;
}

/** `A.crm-events[0] resumes at 276 (…)` lines of `region -- failover B`: partition → offset. */
function resumesPrinted(output: string): Map<number, number> {
  return new Map([...output.matchAll(/\[(\d+)\] resumes at (\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]));
}

/** The group's committed offsets on a cluster, per partition of `topic`. */
async function committedOffsets(brokers: string[], topic: string): Promise<Map<number, number>> {
  const admin = createKafka(brokers, 'lab08-test').admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: GROUP, topics: [topic] });
    return new Map(offsets!.partitions.map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

const fmt = (m: Map<number, number>) => [...m].sort(([a], [b]) => a - b).map(([p, n]) => `${p}:${n}`).join(',');

/**
 * The re-read bound per partition, from the checkpoint B resumed from: what A applied after that
 * checkpoint (its staleness: A's workers went on for up to a checkpoint interval), plus how far
 * the checkpoint's downstream offset trails its upstream one (the offset-sync granularity, at most
 * offset.lag.max).
 */
function rereadBounds(regions: Regions, promotion: Promotion, appliedEnd: Map<number, number>) {
  const staleness = new Map<number, number>();
  const granularity = new Map<number, number>();
  const bound = new Map<number, number>();
  for (const [p, c] of promotion.checkpoints) {
    staleness.set(p, Math.max(0, (appliedEnd.get(p) ?? 0) - Number(c.upstreamOffset)));
    granularity.set(p, Number(c.upstreamOffset) - regions.shift.get(p)! - Number(c.downstreamOffset));
    bound.set(p, staleness.get(p)! + granularity.get(p)!);
  }
  return { staleness, granularity, bound };
}
