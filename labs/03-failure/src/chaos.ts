/**
 * The bookkeeping of the chaos lab: a paced load of events sent with the retrying client
 * (shared/retry.ts), a ledger of every HTTP attempt and outcome, and the reads that turn a run into
 * a history for the checker (src/checker.ts): the scenario's topic range and the profile store.
 */
import { sleep } from '../../../infra/processes.js';
import { loadConfig } from '../../../shared/config.js';
import { createKafka } from '../../../shared/kafka.js';
import { TrackClient, type Attempt, type Delivery, type TrackClientOptions } from '../../../shared/retry.js';
import { readTopic } from '../../../shared/testing/kafka.js';
import type { ProfileStore } from '../../02-consumer-groups/src/profile-store.js';
import { writeTimeline } from './timeline.js';
import { check, formatCounts, type AppliedRows, type SentEvent, type Tolerated, type TopicRecord, type Verdict } from './checker.js';

export interface LoggedAttempt extends Attempt {
  event_id: string;
  /** The replica that answered (x-api-instance), if a replica answered. */
  instance?: string;
  /** Sequence number of the attempt in the ledger. */
  seq: number;
  /** When the attempt started, in ms since the ledger was created. */
  at: number;
  /** The client's source address, when the sender said (runLoad does). */
  address?: string;
}

/** A final outcome, with the client that sent it (one event at a time, in ledger order). */
export interface ClientDelivery extends Delivery {
  client: string;
}

/** Every attempt and every final outcome of one scenario. */
export class Ledger {
  readonly attempts: LoggedAttempt[] = [];
  readonly deliveries: ClientDelivery[] = [];
  /** performance.now() when the ledger was created: `at` of attempts, and of the faults a scenario notes, count from here. */
  readonly t0 = performance.now();

  /** Fault windows the scenario noted, on the same clock (for the timeline). */
  readonly faults: { label: string; from: number; to?: number }[] = [];

  /** ms since the ledger was created. */
  now(): number {
    return performance.now() - this.t0;
  }

  /** Notes that a fault starts now; call the returned function when it ends. */
  fault(label: string): () => void {
    const window: { label: string; from: number; to?: number } = { label, from: this.now() };
    this.faults.push(window);
    return () => {
      window.to ??= this.now();
    };
  }

  /** Records an event's final outcome; `client` names the sender (its source address). */
  record(delivery: Delivery, client: string): void {
    this.deliveries.push({ ...delivery, client });
  }

  /** Pass as `onAttempt` to a TrackClient (or wrap it to add the client's address). */
  readonly onAttempt = (attempt: Attempt, event_id: string, address?: string): void => {
    const instance = attempt.headers?.['x-api-instance'];
    this.attempts.push({ ...attempt, body: undefined, headers: undefined, event_id, seq: this.attempts.length,
      at: this.now() - attempt.elapsedMs, address, instance: typeof instance === 'string' ? instance : undefined });
  };

  /** HTTP requests sent (every attempt, retries included). */
  get sent(): number {
    return this.attempts.length;
  }

  /** Attempts by status code, network errors by their code: `{ 202: 40, 503: 12, ECONNRESET: 1 }`. */
  tally(from = 0): Record<string, number> {
    const out: Record<string, number> = {};
    for (const a of this.attempts.slice(from)) {
      const key = String(a.status ?? a.error);
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  }

  count(statusOrError: number | string, from = 0): number {
    return this.tally(from)[String(statusOrError)] ?? 0;
  }

  delivered(): ClientDelivery[] {
    return this.deliveries.filter((d) => d.delivered);
  }

  /** Every event_id a client ever sent (delivered or not). */
  eventIds(): string[] {
    return this.deliveries.map((d) => d.event_id);
  }
}

export interface LoadOptions {
  baseUrl: string;
  ledger: Ledger;
  /** Concurrent clients, each sending one event at a time from its own source address. */
  clients: number;
  /** Events per second per client (a pause after each event fills up the rest of its slot). */
  ratePerClient: number;
  /** Upper bound on events; the load also ends when `stop()` returns true. */
  maxEvents: number;
  stop?: () => boolean;
  /** Source address of client i (0-based), e.g. `127.0.3.${i + 1}`. */
  localAddress: (client: number) => string;
  /** The client's name in the ledger (default: its address). Give each a distinct one when several share an address. */
  clientName?: (client: number) => string;
  /** Event n (0-based, over all clients). runLoad adds the client's `timestamp` (when it was made), so every copy carries the same time. */
  event: (n: number, client: number) => Record<string, unknown>;
  clientOptions?: TrackClientOptions;
}

/** Runs the load to its end; every event's final Delivery lands in the ledger. */
export async function runLoad(o: LoadOptions): Promise<void> {
  let next = 0;
  const slotMs = 1000 / o.ratePerClient;
  await Promise.all(Array.from({ length: o.clients }, async (_, c) => {
    const address = o.localAddress(c);
    const name = o.clientName?.(c) ?? address;
    const client = new TrackClient(o.baseUrl, { ...o.clientOptions, localAddress: address,
      onAttempt: (attempt, id) => o.ledger.onAttempt(attempt, id, address) });
    try {
      while (next < o.maxEvents && !o.stop?.()) {
        const n = next++;
        const started = performance.now();
        o.ledger.record(await client.send({ timestamp: new Date().toISOString(), ...o.event(n, c) }), name);
        const rest = slotMs - (performance.now() - started);
        if (rest > 0) await sleep(rest);
      }
    } finally {
      client.close();
    }
  }));
}

/**
 * Whether the API's producer, configured from this process's environment, is idempotent
 * (KAFKA_PRODUCER_IDEMPOTENT, default true). API replicas inherit the environment, so this holds
 * for them too.
 */
export function eventProducerIsIdempotent(): boolean {
  return loadConfig().KAFKA_PRODUCER_IDEMPOTENT;
}

/** Each partition's end offset before the scenario: its topic range starts there. */
export type TopicMark = { topic: string; from: Map<number, number> };

/** Notes where the scenario's range of the topic starts. Call it before the scenario sends anything. */
export async function markTopic(brokers: string[], topic: string): Promise<TopicMark> {
  const admin = createKafka(brokers, 'crm-lab-test').admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return { topic, from: new Map(offsets.map((p) => [p.partition, Number(p.high)])) };
  } finally {
    await admin.disconnect();
  }
}

/** Every record from the mark to the end (the high watermark when the read starts), whoever wrote it. */
export async function readRange(brokers: string[], mark: TopicMark): Promise<TopicRecord[]> {
  const records = await readTopic(brokers, mark.topic, 60_000);
  return records
    .filter((r) => r.offset >= (mark.from.get(r.partition) ?? 0))
    .map((r) => {
      const v = (r.value ?? {}) as Record<string, unknown>;
      const str = (x: unknown) => (typeof x === 'string' ? x : undefined);
      return { partition: r.partition, offset: r.offset, event_id: str(v.event_id), user_id: str(v.user_id),
        event_type: str(v.event_type), time: str(v.timestamp) ?? str(v.server_timestamp) };
    });
}

/** What the workers applied: the profile store's processed event_ids and profiles. */
export function appliedRows(store: ProfileStore): AppliedRows {
  return { processed: store.processed().map((p) => p.event_id), profiles: store.profiles() };
}

/** The ledger as the checker reads it: one entry per event, per client in sending order. */
export function sentEvents(ledger: Ledger): SentEvent[] {
  return ledger.deliveries.map((d) => ({
    event_id: d.event_id,
    user_id: String(d.event.user_id),
    client: d.client,
    // An attempt answered 4xx (429 included) was refused before the publish: it wrote nothing.
    attempts: d.attempts.filter((a) => a.status === undefined || a.status < 400 || a.status >= 500).length,
    acked: d.delivered,
  }));
}

/**
 * Reads the scenario's topic range (and the profile store, if given) and judges it against the
 * ledger as it was when the call began: every 202 in it (acks=all) is below the high watermark the
 * read stops at. Mid-load only `lost` means something (records of events still in flight are not
 * in that ledger yet, so they look stray); judge everything once the load has ended.
 */
export async function checkScenario(brokers: string[], mark: TopicMark, ledger: Ledger, store?: ProfileStore): Promise<Verdict> {
  const sent = sentEvents(ledger); // before the read: an event acked during it may be above its high watermark
  const topic = await readRange(brokers, mark);
  return check({ sent, topic, ...(store ? { applied: appliedRows(store) } : {}) });
}

/**
 * The one line each scenario prints: the ledger's answers, then the checker's counts, then the
 * scenario's own figures: `[name] sent=… 202=… 429=… 503=… other=… events=… gave_up=… | records=… lost=0 … | …`.
 */
export function summaryLine(label: string, ledger: Ledger, verdict: Verdict, tolerated: Tolerated = {}, extra: Record<string, string | number> = {}): string {
  const t = ledger.tally();
  const others = Object.entries(t).filter(([k]) => !['202', '429', '503'].includes(k)).map(([k, v]) => `${k}:${v}`);
  const gaveUp = ledger.deliveries.length - ledger.delivered().length;
  return `[${label}] sent=${ledger.sent} 202=${t['202'] ?? 0} 429=${t['429'] ?? 0} 503=${t['503'] ?? 0} `
    + `other=${others.length ? others.join(',') : 0} events=${ledger.deliveries.length} gave_up=${gaveUp} | `
    + formatCounts(verdict, tolerated)
    + (Object.keys(extra).length ? ' | ' + Object.entries(extra).map(([k, v]) => `${k}=${v}`).join(' ') : '');
}

/** Writes the run's timeline (.run/reports/…html) and prints where: `[label] timeline: <path>`. */
export function reportTimeline(label: string, ledger: Ledger, lag?: { at: number; lag: number }[]): string {
  const path = writeTimeline(label, { title: label, attempts: ledger.attempts, faults: ledger.faults, ...(lag ? { lag } : {}) });
  console.log(`[${label}] timeline: ${path}`);
  return path;
}
