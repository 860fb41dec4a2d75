/**
 * `npm run bench:security`: what each layer of lab 07 costs, security on vs off, in one run:
 * TLS and the edge checks through nginx (edge-cost.ts), SASL_SSL vs PLAINTEXT on the broker
 * (kafka-cost.ts), sealed PII vs JSON (pii-cost.ts). Each part starts its own components on free
 * ports. Prints each part's figures, the machine's other load before and after, and a final
 * `SUMMARY {json}` line.
 */
import { cpus, loadavg } from 'node:os';
import { backgroundLoad } from '../../../bench/cpu.js';
import { measureEdgeCost } from './edge-cost.js';
import { measureKafkaCost } from './kafka-cost.js';
import { measurePiiCost } from './pii-cost.js';

const parts: [string, () => Promise<Record<string, number>>][] = [
  ['edge', measureEdgeCost], ['kafka', measureKafkaCost], ['pii', measurePiiCost],
];
const only = process.env.PARTS?.split(',');
const round = (v: number) => (Math.abs(v) >= 100 ? Math.round(v) : Number(v.toPrecision(3)));

const startedAt = Date.now();
const before = await backgroundLoad();
console.log(`machine     ${cpus().length} cores; other load before starting: ${before.busy.toFixed(2)} cores busy (steal ${before.steal.toFixed(2)}), load avg ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const summary: Record<string, number> = { other_load_cores_before: round(before.busy) };
for (const [name, measure] of parts) {
  if (only && !only.includes(name)) continue;
  console.log(`\n== ${name} ==`);
  for (const [key, value] of Object.entries(await measure())) summary[`${name}_${key}`] = round(value);
}
const after = await backgroundLoad();
summary.other_load_cores_after = round(after.busy);
console.log(`\nother load after: ${after.busy.toFixed(2)} cores busy; load avg ${loadavg().map((l) => l.toFixed(2)).join(' ')}; total ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
console.log(`SUMMARY ${JSON.stringify(summary)}`);
process.exit(0);
