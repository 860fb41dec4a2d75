/**
 * Loaded with `NODE_OPTIONS=--require …/cpu-prof-preload.cjs` (Node 20 refuses `--cpu-prof` in
 * NODE_OPTIONS, and infra/ starts components through tsx, so the flag cannot be put on a command
 * line): samples this process with the inspector's profiler from its start, every 1 ms as
 * `--cpu-prof` does, and writes a `.cpuprofile` into CPU_PROF_DIR when the process exits normally
 * (process.exit included; a SIGKILL writes nothing). Plain CommonJS: it runs before tsx is loaded.
 */
'use strict';
const { Session } = require('node:inspector');
const { writeFileSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // The in-process session answers synchronously, so this works inside an exit handler.
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `CPU.${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
