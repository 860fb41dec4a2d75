/**
 * `npm run profile -- api|worker|streams [--rate N] [--seconds S] [--top N] [--env NAME=value]… [--keep]`: runs one
 * component under evenly paced load with `node --cpu-prof` (its own Kafka broker on free ports,
 * never `npm run up`'s), stops it gracefully so the profile is written, and prints where its CPU
 * went: the top functions by self time and a per-package summary, as Markdown tables, counting
 * only the samples taken under load (start-up and shutdown left out).
 *
 * Defaults: --rate 1000 events/s, --seconds 20. The machine's other load is printed before and
 * after (bench/cpu.ts backgroundLoad): a profile from a busy machine is still a profile, but its
 * milliseconds are not comparable with a quiet run's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafka } from '../infra/kafka.js';
import { repoRoot } from '../infra/paths.js';
import { createKafka, ensureTopic } from '../shared/kafka.js';
import { backgroundLoad } from './cpu.js';
import { profileApi } from './profile/api.js';
import { readComponentProfiles } from './profile/cpu-prof.js';
import { summarizeProfiles } from './profile/cpuprofile.js';
import { formatSummary } from './profile/format.js';
import type { ProfiledLoad, ProfileRun } from './profile/run.js';
import { profileStreams } from './profile/streams.js';
import { profileWorker } from './profile/worker.js';

const components: Record<string, (o: ProfileRun) => Promise<ProfiledLoad>> = { api: profileApi, worker: profileWorker, streams: profileStreams };

function refuse(error: string, message: string): never {
  console.error(JSON.stringify({ error, message }));
  process.exit(2);
}

function parseArgs(argv: string[]) {
  const [component, ...rest] = argv;
  if (!component || !(component in components)) refuse('unknown_component', `profile takes one of ${Object.keys(components).join('|')}, got ${component ?? 'nothing'}`);
  const opts = { rate: 1_000, seconds: 20, top: 20, keep: false, env: {} as Record<string, string> };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!;
    if (flag === '--keep') {
      opts.keep = true;
      continue;
    }
    if (flag === '--env') {
      const [name, ...value] = (rest[++i] ?? '').split('=');
      if (!name || value.length === 0) refuse('invalid_option', `--env needs NAME=value, got ${rest[i]}`);
      opts.env[name] = value.join('=');
      continue;
    }
    const name = flag.replace(/^--/, '') as 'rate' | 'seconds' | 'top';
    const value = Number(rest[++i]);
    if (!['rate', 'seconds', 'top'].includes(name)) refuse('unknown_option', `${flag}: profile takes --rate N, --seconds S, --top N, --env NAME=value, --keep`);
    if (!(value > 0)) refuse('invalid_option', `${flag} needs a positive number, got ${rest[i]}`);
    opts[name] = value;
  }
  return { component, ...opts };
}

const args = parseArgs(process.argv.slice(2));
const root = mkdtempSync(join(tmpdir(), `crm-profile-${args.component}-`));
const profDir = join(root, 'cpuprofiles');
const loadBefore = await backgroundLoad();
console.log(`profile ${args.component}: ${args.rate} events/s for ${args.seconds} s, env ${JSON.stringify(args.env)}; machine busy before: ${loadBefore.busy.toFixed(2)} cores; folder ${root}`);

const kafka = await startKafka({ dataDir: join(root, 'kafka') });
let result: ProfiledLoad;
try {
  const topic = 'crm-events';
  await ensureTopic(createKafka(kafka.brokers, 'crm-profile-setup'), topic, 2);
  result = await components[args.component]!({ brokers: kafka.brokers, topic, root, profDir, rate: args.rate, seconds: args.seconds, env: args.env });
} finally {
  await kafka.process.stop();
}
const loadAfter = await backgroundLoad();
const profiles = readComponentProfiles(profDir, repoRoot);
if (profiles.length === 0) refuse('no_profile', `no .cpuprofile with repository code in ${profDir}: did the component exit normally?`);
const summary = summarizeProfiles(profiles, { repoRoot, window: result.window });
console.log(`${profiles.length} process profile(s); ${result.notes.join('; ')}; machine busy after: ${loadAfter.busy.toFixed(2)} cores`);
const windowS = (result.window.toUs - result.window.fromUs) / 1e6;
console.log(`under load (${windowS.toFixed(1)} s): CPU ${result.cpuCores.toFixed(2)} cores = ${((result.cpuCores * windowS * 1e6) / result.events).toFixed(0)} µs per event (/proc, profiler included); `
  + `main thread${profiles.length > 1 ? `s (${profiles.length}, summed)` : ''} not idle ${(summary.busyMs / 1000 / windowS).toFixed(2)} of the time `
  + '(the profile: CPU plus waits inside calls, e.g. fsync)');
console.log('');
console.log(formatSummary(summary, { top: args.top, events: result.events }));
if (args.keep) console.log(`\nkept: ${root} (open the .cpuprofile files in Chrome DevTools)`);
else rmSync(root, { recursive: true, force: true });
