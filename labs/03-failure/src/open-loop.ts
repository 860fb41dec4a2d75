/**
 * Open-loop traffic for the chaos ledger: requests are sent at an even, fixed rate whatever the
 * answers (shared/paced-load.ts), spread round-robin over many client IPs, one attempt each. A
 * closed-loop client (runLoad) sends less when answers slow down, so under load it never offers the
 * rate it was asked for; this one does, and the ledger shows what the pipeline made of it.
 *
 * The checker's order rule needs clients that send one event at a time. An open-loop IP may have
 * several requests in flight, so each IP's requests are cut into sessions: a request sent while
 * none of its IP's requests is in flight continues the IP's current session, any other starts a
 * new one. Within a session every event was sent after the previous one was answered, so the
 * checker may compare their order (`client` = `<ip>~<session>`).
 */
import { randomUUID } from 'node:crypto';
import { pacedLoad } from '../../../shared/paced-load.js';
import type { Attempt, Delivery } from '../../../shared/retry.js';
import type { Ledger } from './chaos.js';

export interface OpenLoopOptions {
  baseUrl: string;
  ledger: Ledger;
  /** Requests per second over all addresses. */
  rate: number;
  durationS: number;
  stop?: () => boolean;
  /** Client IPs; request i comes from addresses[i % length], so each sends rate / length per second. */
  addresses: string[];
  /** Event n of the address with index `client` (0-based). A `timestamp` and an `event_id` are added. */
  event: (n: number, client: number) => Record<string, unknown>;
  /** Keep-alive connections per address at most. */
  connectionsPerAddress?: number;
}

export interface OpenLoopResult {
  /** Requests sent. */
  sent: number;
  /** When sending started and stopped, and when the last answer came, on the ledger's clock (ms). */
  from: number;
  sentUntil: number;
  answeredUntil: number;
}

const parse = (text: string | undefined): unknown => {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
};

/** Sends until `durationS` has passed or `stop()` is true; resolves once every request is answered or failed. */
export async function runOpenLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const inFlight = o.addresses.map(() => 0);
  const session = o.addresses.map(() => 0);
  const pending = new Map<number, { event: Record<string, unknown> & { event_id: string }; client: string; address: string }>();
  const from = o.ledger.now();
  let sentUntil = from;
  const result = await pacedLoad({
    url: o.baseUrl, path: '/track', rate: o.rate, durationS: o.durationS, stop: o.stop,
    connections: o.connectionsPerAddress ?? 20,
    localAddress: (i) => o.addresses[i % o.addresses.length]!,
    body: (i) => {
      const c = i % o.addresses.length;
      if (inFlight[c]! > 0) session[c]!++;
      inFlight[c]!++;
      const event = { timestamp: new Date().toISOString(), ...o.event(Math.floor(i / o.addresses.length), c), event_id: randomUUID() };
      pending.set(i, { event, client: `${o.addresses[c]}~${session[c]}`, address: o.addresses[c]! });
      sentUntil = o.ledger.now();
      return JSON.stringify(event);
    },
    onAnswer: (i, answer) => {
      const sent = pending.get(i)!;
      pending.delete(i);
      inFlight[i % o.addresses.length]!--;
      const attempt: Attempt = { attempt: 1, status: answer.status, error: answer.error, body: parse(answer.body),
        headers: answer.headers, elapsedMs: answer.elapsedMs };
      o.ledger.onAttempt(attempt, sent.event.event_id, sent.address);
      const delivery: Delivery = { event_id: sent.event.event_id, event: sent.event, delivered: answer.status === 202,
        status: answer.status, body: attempt.body, attempts: [attempt],
        ...(answer.status === 202 ? {} : { gaveUp: `single attempt: ${answer.status ?? answer.error}` }) };
      o.ledger.record(delivery, sent.client);
    },
  });
  return { sent: result.sent, from, sentUntil, answeredUntil: o.ledger.now() };
}
