/** Stops what `npm run up` started (by pid, SIGTERM then SIGKILL). Data in .run/ is kept. */
import { isAlive, readPids, removePid } from './stack.js';
import { sleep } from './processes.js';

// Reverse start order: the edge first, Kafka last.
const order = ['nginx', 'api', 'worker', 'toxiproxy', 'kafka'];
const rank = (name: string) => order.findIndex((prefix) => name.startsWith(prefix));
for (const { name, pid } of readPids().sort((a, b) => rank(a.name) - rank(b.name))) {
  if (isAlive(pid)) {
    process.kill(-pid, 'SIGTERM');
    for (let waited = 0; isAlive(pid) && waited < 15_000; waited += 100) await sleep(100);
    if (isAlive(pid)) process.kill(-pid, 'SIGKILL');
    console.log(`stopped ${name} (pid ${pid})`);
  }
  removePid(name);
}
