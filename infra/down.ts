/**
 * Stops what `npm run up` started (by pid, SIGTERM then SIGKILL). Data in .run/ is kept.
 * Only a process whose pid and start time match its pid file is signalled: a pid file can outlive
 * its process, and the pid be given to another one.
 */
import { isOurs, pidInUse, readPids, removePid } from './stack.js';
import { sleep } from './processes.js';

// Reverse start order: the edge first, Kafka last.
const order = ['nginx', 'api', 'worker', 'streams', 'redis', 'registry', 'toxiproxy', 'kafka'];
const rank = (name: string) => order.findIndex((prefix) => name.startsWith(prefix));
for (const record of readPids().sort((a, b) => rank(a.name) - rank(b.name))) {
  const { name, pid } = record;
  if (isOurs(record)) {
    process.kill(-pid, 'SIGTERM');
    for (let waited = 0; isOurs(record) && waited < 15_000; waited += 100) await sleep(100);
    if (isOurs(record)) process.kill(-pid, 'SIGKILL');
    console.log(`stopped ${name} (pid ${pid})`);
  } else if (pidInUse(pid)) {
    const why = record.startTime === undefined ? 'its pid file records no start time to check it by' : 'it started at another time: the pid was reused';
    console.log(`${name}: pid ${pid} is not the process up started (${why}); left running`);
  }
  removePid(name);
}
