/**
 * `npm run bench:dedupe`: what exactly-once costs in the profile store. Applies the same events
 * with the processed-event record (exactly-once) and without it (at-least-once: a redelivery
 * would count a login twice), one SQLite transaction per event as the worker does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProfileStore } from '../src/profile-store.js';
import { enrichedEvent } from '../test/events.js';

const count = Number(process.env.BENCH_EVENTS ?? 20_000);
const events = Array.from({ length: count }, (_, i) => enrichedEvent(`user_${i % 500}`, i % 3 === 0 ? 'login' : 'page_view'));

function run(dedupe: boolean): number {
  const dir = mkdtempSync(join(tmpdir(), 'dedupe-bench-'));
  const store = new ProfileStore(join(dir, 'profiles.db'), { dedupe });
  const started = performance.now();
  events.forEach((event, offset) => store.apply(event, { topic: 'bench', partition: 0, offset }, 'bench'));
  const elapsedMs = performance.now() - started;
  store.close();
  rmSync(dir, { recursive: true, force: true });
  return elapsedMs;
}

run(true); // warm-up
const without = run(false);
const withDedupe = run(true);
const perEvent = (ms: number) => ((ms * 1000) / count).toFixed(1);
console.log(`profile store, ${count} events, one transaction each (SQLite WAL, synchronous=NORMAL):`);
console.log(`  at-least-once (no dedupe record): ${Math.round(count / (without / 1000))} events/s, ${perEvent(without)} µs/event`);
console.log(`  exactly-once (event_id recorded in the same transaction): ${Math.round(count / (withDedupe / 1000))} events/s, ${perEvent(withDedupe)} µs/event`);
console.log(`  cost of exactly-once: +${(((withDedupe - without) / without) * 100).toFixed(0)}% time per event`);
