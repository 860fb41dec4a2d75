/**
 * The peer, side by side: Benthos (bench/peer: http_server → kafka_franz, acks=all, idempotent,
 * key = user_id) doing the same job on the same broker, behind an nginx of the same config (its own
 * process, with the bench's raised limits), driven by the same vegeta load: paced at `rate`, then at
 * its maximum. Benthos writes to its own topic so the lab's workers do not consume its records.
 */
import { join } from 'node:path';
import { ensureTopic, createKafka } from '../../shared/kafka.js';
import { missingIds } from '../missing-ids.js';
import { startNginx } from '../../infra/nginx.js';
import { BENCH_LIMITS } from '../stacks.js';
import { budgetPhase } from './phase.js';
import type { VegetaResult } from '../vegeta/attack.js';
import { benthosBin, startBenthosPeer } from '../peer/benthos.js';

export interface PeerResult {
  paced: VegetaResult;
  max: VegetaResult;
  /** Benthos' and its nginx's CPU µs per accepted request at the paced rate. */
  pacedUsPerEvent: number;
  /** The peer's 202s not found in its topic (each looked up by the X-Request-Id header Benthos copies onto the record). */
  lost: number;
}

export const PEER_TOPIC = 'peer-events';

export async function peerPhases(o: {
  brokers: string[]; root: string; bin: string; body: (i: number) => unknown; rate: number; durationS: number; maxS: number;
}): Promise<PeerResult> {
  console.log(`\nThe peer: Benthos behind nginx (same template and limits), on the same broker, topic ${PEER_TOPIC}`);
  await ensureTopic(createKafka(o.brokers, 'crm-bench-peer'), PEER_TOPIC, 2);
  const peer = await startBenthosPeer({ bin: benthosBin(), brokers: o.brokers, topic: PEER_TOPIC, logDir: join(o.root, 'peer') });
  const nginx = await startNginx({ upstreams: [peer.address], rate: Number(BENCH_LIMITS.NGINX_RATE), burst: Number(BENCH_LIMITS.NGINX_BURST), prefix: join(o.root, 'peer-nginx') });
  try {
    const url = `${nginx.url}/track`;
    const stages = { benthos: [peer.pid], nginx: [nginx.process.pid] };
    const work = join(o.root, 'vegeta');
    await budgetPhase({ name: 'peer warm-up', bin: o.bin, url, rate: 250, durationS: 5, workDir: work, body: o.body, stages, quiet: true });
    const paced = await budgetPhase({ name: `peer ${o.rate} req/s`, bin: o.bin, url, rate: o.rate, durationS: o.durationS, workDir: work, body: o.body, stages });
    const max = await budgetPhase({ name: 'peer max', bin: o.bin, url, rate: 0, maxWorkers: 50, durationS: o.maxS, workDir: work, body: o.body, stages });
    const accepted = [paced, max].flatMap((p) => p.load.accepted.map((a) => a.id));
    const lost = (await missingIds(o.brokers, PEER_TOPIC, accepted, (r) => r.headers['X-Request-Id'])).length;
    console.log(`  Check: ${accepted.length} peer 202s, each looked up by X-Request-Id in ${PEER_TOPIC}: ${lost === 0 ? 'every one is stored' : `${lost} LOST`}.`);
    return { paced: paced.load, max: max.load, pacedUsPerEvent: paced.totalOursUs, lost };
  } finally {
    await nginx.process.stop().catch(() => undefined);
    await peer.stop();
  }
}
