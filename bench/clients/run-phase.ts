/**
 * One phase for one client: a fresh producer, `concurrency` loops each awaiting one send of
 * `messagesPerSend` messages at a time until the deadline, then the sends still in flight get up to
 * DRAIN_MS to be answered. Records every send's latency, which messages were acked, which failed,
 * and the CPU of the broker, of this process (the clients' own threads included) and of the rest
 * of the machine.
 */
import { cpuShare, cpuSnapshot } from '../cpu.js';
import { latencyOf, type Latency } from '../stats.js';
import type { BenchClient } from './bench-producer.js';
import { describeError } from './describe-error.js';
import type { Ledger } from './judge.js';
import { benchMessage, type PhaseSpec } from './workload.js';

const DRAIN_MS = 30_000;

export interface PhaseRun {
  client: string;
  settings: string;
  phase: PhaseSpec;
  topic: string;
  durationS: number;
  /** Acked messages per second over the phase. */
  rate: number;
  latency: Latency;
  sends: number;
  failedSends: number;
  /** Up to 3 distinct error messages of failed sends. */
  errorSamples: string[];
  ledger: Ledger;
  /** Cores used during the phase (1.0 = one core busy). */
  cpu: { broker: number; bench: number; other: number };
}

export async function runPhase(o: {
  client: BenchClient; brokers: string[]; topic: string; phase: PhaseSpec; durationS: number; brokerPgid: number;
}): Promise<PhaseRun> {
  const producer = o.client.create(o.brokers, `bench-${o.client.slug}-${o.phase.slug}`);
  const ledger: Ledger = { sent: 0, acked: [], failed: [], unanswered: 0 };
  const latencies: number[] = [];
  const errorSamples = new Set<string>();
  let failedSends = 0;
  let inFlight = 0;
  let seq = 0;
  const send = async () => {
    const first = seq;
    const messages = Array.from({ length: o.phase.messagesPerSend }, () => benchMessage(seq++));
    ledger.sent += messages.length;
    inFlight += messages.length;
    const started = performance.now();
    try {
      await producer.send(o.topic, messages);
      latencies.push(performance.now() - started);
      for (let s = first; s < first + messages.length; s++) ledger.acked.push(s);
    } catch (error) {
      failedSends++;
      if (errorSamples.size < 3) errorSamples.add(describeError(error));
      for (let s = first; s < first + messages.length; s++) ledger.failed.push(s);
    } finally {
      inFlight -= messages.length;
    }
  };
  try {
    await producer.connect();
    await send(); // connection, metadata, producer id: not timed (its message is counted like the others)
    latencies.length = 0;
    const before = cpuSnapshot();
    const deadline = before.at + o.durationS * 1000;
    const loop = async () => {
      while (performance.now() < deadline) await send();
    };
    const loops = Promise.all(Array.from({ length: o.phase.concurrency }, loop));
    let drainTimer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      loops.then(() => true),
      new Promise<false>((resolve) => {
        drainTimer = setTimeout(() => resolve(false), o.durationS * 1000 + DRAIN_MS);
      }),
    ]);
    clearTimeout(drainTimer);
    const after = cpuSnapshot();
    if (!drained) ledger.unanswered = inFlight;
    const durationS = (after.at - before.at) / 1000;
    const share = cpuShare(before, after, { kafka: [o.brokerPgid] });
    return {
      client: producer.client, settings: producer.settings, phase: o.phase, topic: o.topic, durationS,
      rate: latencies.length * o.phase.messagesPerSend / durationS, latency: latencyOf(latencies),
      sends: latencies.length + failedSends, failedSends, errorSamples: [...errorSamples], ledger,
      cpu: { broker: share.kafka, bench: share.loadgen, other: share.other },
    };
  } finally {
    await producer.close().catch(() => undefined);
  }
}
