/**
 * A vegeta attack measured the way every phase of the benches measures it: /proc snapshots of the
 * machine before and after, this process's own CPU, and the consumer lag sampled meanwhile.
 */
import { cpuSnapshot, type CpuSnapshot } from '../cpu.js';
import { sampleLag } from '../lag-sampler.js';
import { vegetaAttack, type VegetaAttack, type VegetaResult } from './attack.js';

export interface MeasuredAttack {
  load: VegetaResult;
  before: CpuSnapshot;
  after: CpuSnapshot;
  /** CPU seconds this process (the bench) used during the attack. */
  benchCpuS: number;
  maxLag?: number | undefined;
}

export async function measuredAttack(o: VegetaAttack & { lag?: { brokers: string[]; groupId: string; topic: string } | undefined }): Promise<MeasuredAttack> {
  const lag = o.lag ? sampleLag(o.lag.brokers, o.lag.groupId, o.lag.topic) : undefined;
  const selfBefore = process.cpuUsage();
  const before = cpuSnapshot();
  let load: VegetaResult;
  try {
    load = await vegetaAttack(o);
  } catch (error) {
    await lag?.stop().catch(() => undefined);
    throw error;
  }
  const after = cpuSnapshot();
  const self = process.cpuUsage(selfBefore);
  return { load, before, after, benchCpuS: (self.user + self.system) / 1e6, maxLag: await lag?.stop() };
}
