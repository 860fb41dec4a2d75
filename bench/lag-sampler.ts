/** The consumer lag of a group on a topic, sampled while a phase runs: its maximum, and the lag now. */
import { createKafka } from '../shared/kafka.js';
import { consumerLag, totalLag } from '../shared/lag.js';

/** Samples a group's total lag every `intervalMs` until stopped; returns the highest seen. */
export function sampleLag(brokers: string[], groupId: string, topic: string, intervalMs = 250) {
  const admin = createKafka(brokers, 'crm-bench-lag').admin();
  let max = 0;
  let running = true;
  const loop = (async () => {
    await admin.connect();
    while (running) {
      try {
        max = Math.max(max, totalLag(await consumerLag(admin, groupId, topic)));
      } catch {
        /* the next sample will do */
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    current: async () => totalLag(await consumerLag(admin, groupId, topic)),
    async stop(): Promise<number> {
      running = false;
      await loop;
      await admin.disconnect();
      return max;
    },
  };
}
