/**
 * The bookkeeping of the chaos lab: a paced load of events sent with the retrying client
 * (shared/retry.ts), a ledger of every HTTP attempt, and the check that compares what clients
 * were told (202 = delivered) with what Kafka really stores.
 */
import { sleep } from '../../../infra/processes.js';
import { TrackClient, type Attempt, type Delivery, type TrackClientOptions } from '../../../shared/retry.js';
import { readTopic } from '../../../shared/testing/kafka.js';

export interface LoggedAttempt extends Attempt {
  event_id: string;
  /** The replica that answered (x-api-instance), if a replica answered. */
  instance?: string;
  /** Sequence number of the attempt in the ledger. */
  seq: number;
}

/** Every attempt and every final outcome of one scenario. */
export class Ledger {
  readonly attempts: LoggedAttempt[] = [];
  readonly deliveries: Delivery[] = [];

  /** Pass as `onAttempt` to a TrackClient. */
  readonly onAttempt = (attempt: Attempt, event_id: string): void => {
    const instance = attempt.headers?.['x-api-instance'];
    this.attempts.push({ ...attempt, body: undefined, headers: undefined, event_id, seq: this.attempts.length,
      instance: typeof instance === 'string' ? instance : undefined });
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

  delivered(): Delivery[] {
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
  event: (n: number, client: number) => Record<string, unknown>;
  clientOptions?: TrackClientOptions;
}

/** Runs the load to its end; every event's final Delivery lands in the ledger. */
export async function runLoad(o: LoadOptions): Promise<void> {
  let next = 0;
  const slotMs = 1000 / o.ratePerClient;
  await Promise.all(Array.from({ length: o.clients }, async (_, c) => {
    const client = new TrackClient(o.baseUrl, { ...o.clientOptions, localAddress: o.localAddress(c), onAttempt: o.ledger.onAttempt });
    try {
      while (next < o.maxEvents && !o.stop?.()) {
        const n = next++;
        const started = performance.now();
        o.ledger.deliveries.push(await client.send(o.event(n, c)));
        const rest = slotMs - (performance.now() - started);
        if (rest > 0) await sleep(rest);
      }
    } finally {
      client.close();
    }
  }));
}

export interface StoreCheck {
  /** Records in the topic that belong to the scenario's events (duplicates included). */
  stored: number;
  /** Distinct event_ids among them. */
  distinct: number;
  /** stored - distinct: extra copies of an event, recognisable by their shared event_id. */
  duplicates: number;
  /** The most copies of one event_id (1 when there are no duplicates). */
  maxCopies: number;
  /** Events a client got a 202 for that are not in the topic. Must be empty. */
  lost: string[];
  /** Events a client got a 202 for that are stored more than once. */
  ackedMoreThanOnce: string[];
  /** Events the client gave up on (no 202) that Kafka stored anyway. */
  storedWithout202: number;
}

/**
 * Reads the topic back (on the given brokers) and compares it with the ledger. Only events
 * whose outcome was known before the read started are judged: the read stops at the high
 * watermark of that moment, and a 202 (acks=all) means the event is below it.
 */
export async function checkStored(brokers: string[], topic: string, ledger: Ledger): Promise<StoreCheck> {
  const mine = new Set(ledger.eventIds());
  const delivered = ledger.delivered().map((d) => d.event_id);
  const copies = new Map<string, number>();
  for (const r of await readTopic(brokers, topic, 60_000)) {
    const id = r.value?.event_id as string | undefined;
    if (id && mine.has(id)) copies.set(id, (copies.get(id) ?? 0) + 1);
  }
  const deliveredSet = new Set(delivered);
  const stored = [...copies.values()].reduce((a, b) => a + b, 0);
  return {
    stored,
    distinct: copies.size,
    duplicates: stored - copies.size,
    maxCopies: Math.max(0, ...copies.values()),
    lost: delivered.filter((id) => !copies.has(id)),
    ackedMoreThanOnce: delivered.filter((id) => (copies.get(id) ?? 0) > 1),
    storedWithout202: [...copies.keys()].filter((id) => !deliveredSet.has(id)).length,
  };
}

/** The one line each scenario prints: `sent=… 202=… 429=… 503=… stored=… duplicates=… lost=0 | …`. */
export function summaryLine(label: string, ledger: Ledger, check: StoreCheck, extra: Record<string, string | number> = {}): string {
  const t = ledger.tally();
  const others = Object.entries(t).filter(([k]) => !['202', '429', '503'].includes(k)).map(([k, v]) => `${k}:${v}`);
  const tail = {
    events: ledger.deliveries.length,
    delivered: ledger.delivered().length,
    gave_up: ledger.deliveries.length - ledger.delivered().length,
    stored_without_202: check.storedWithout202,
    max_copies: check.maxCopies,
    other: others.length ? others.join(',') : 0,
    ...extra,
  };
  return `[${label}] sent=${ledger.sent} 202=${t['202'] ?? 0} 429=${t['429'] ?? 0} 503=${t['503'] ?? 0} `
    + `stored=${check.stored} duplicates=${check.duplicates} lost=${check.lost.length} | `
    + Object.entries(tail).map(([k, v]) => `${k}=${v}`).join(' ');
}
