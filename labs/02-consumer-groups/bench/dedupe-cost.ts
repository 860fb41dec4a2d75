/**
 * `npm run bench:dedupe`: what exactly-once costs in the profile store, and what batching buys.
 * Applies the same events
 *  - with the processed-event record (exactly-once) and without it (at-least-once: a redelivery
 *    would count a login twice);
 *  - one SQLite transaction per event (the worker before batching) and one per 500 events (the
 *    worker now: TX_MAX_EVENTS);
 *  - with synchronous=FULL (each transaction on disk before the offset is committed: the worker's
 *    setting) and NORMAL (WAL synced only at checkpoints: an OS crash can lose the last transactions).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProfileStore, type ProfileStoreOptions } from '../src/profile-store.js';
import { enrichedEvent } from '../test/events.js';

const count = Number(process.env.BENCH_EVENTS ?? 20_000);
const TX_EVENTS = 500;
const events = Array.from({ length: count }, (_, i) => enrichedEvent(`user_${i % 500}`, i % 3 === 0 ? 'login' : 'page_view'));
const items = events.map((event, offset) => ({ event, position: { topic: 'bench', partition: 0, offset } }));

/** Events per second applying the first `n` events, `perTx` per transaction. */
function run(opts: ProfileStoreOptions, perTx: number, n = count): number {
  const dir = mkdtempSync(join(tmpdir(), 'dedupe-bench-'));
  const store = new ProfileStore(join(dir, 'profiles.db'), opts);
  const started = performance.now();
  if (perTx === 1) {
    for (const { event, position } of items.slice(0, n)) store.apply(event, position, 'bench');
  } else {
    for (let i = 0; i < n; i += perTx) store.applyBatch(items.slice(i, Math.min(i + perTx, n)), 'bench');
  }
  const seconds = (performance.now() - started) / 1000;
  store.close();
  rmSync(dir, { recursive: true, force: true });
  return n / seconds;
}

const row = (label: string, perSecond: number) =>
  console.log(`  ${label.padEnd(62)} ${String(Math.round(perSecond)).padStart(7)} events/s  ${(1e6 / perSecond).toFixed(1).padStart(6)} µs/event`);

run({}, TX_EVENTS); // warm-up
console.log(`profile store, ${count} events (1,000 for FULL with 1 event per transaction), SQLite WAL, on this machine:`);
for (const synchronous of ['NORMAL', 'FULL'] as const) {
  for (const perTx of [1, TX_EVENTS]) {
    // One disk sync per event is slow enough that its first 1,000 events tell the rate.
    const n = synchronous === 'FULL' && perTx === 1 ? Math.min(count, 1_000) : count;
    const tx = perTx === 1 ? '1 event per transaction' : `${perTx} events per transaction`;
    row(`${synchronous.padEnd(6)} ${tx}, at-least-once (no dedupe)`, run({ synchronous, dedupe: false }, perTx, n));
    row(`${synchronous.padEnd(6)} ${tx}, exactly-once (dedupe)`, run({ synchronous, dedupe: true }, perTx, n));
  }
}
