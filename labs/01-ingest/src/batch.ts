import type { CRMEvent, EnrichedEvent, Issue } from '../../../shared/schema.js';
import { checkEvent, type EventContext } from './check-event.js';
import { EventEncodeError } from './event-codec.js';
import type { JsonPath } from './json-walk.js';
import { KafkaUnavailableError } from './publisher.js';

export interface RejectedEvent { index: number; reason: string; issues: Issue[] }
export interface EventRef { index: number; event_id: string }

/** Splits a batch into the events to publish (in order, enriched by `enrich`) and the rejected ones, with their reasons. */
export function sortBatch(
  events: unknown[],
  context: EventContext,
  enrich: (event: CRMEvent, index: number) => EnrichedEvent,
): { valid: { index: number; event: EnrichedEvent }[]; rejected: RejectedEvent[] } {
  const valid: { index: number; event: EnrichedEvent }[] = [];
  const rejected: RejectedEvent[] = [];
  // The parser's paths start at the array: each event gets its own, from its top.
  const ofEvent = <T extends { path: JsonPath }>(found: T[] | undefined, index: number) =>
    found?.filter((n) => n.path[0] === index).map((n) => ({ ...n, path: n.path.slice(1) }));
  events.forEach((input, index) => {
    const check = checkEvent(input, context.inexactNumbers || context.duplicateKeys
      ? { ...context, inexactNumbers: ofEvent(context.inexactNumbers, index), duplicateKeys: ofEvent(context.duplicateKeys, index) } : context);
    if (check.ok) valid.push({ index, event: enrich(check.event, index) });
    else rejected.push({ index, reason: check.message, issues: check.issues });
  });
  return { valid, rejected };
}

/**
 * Encodes each valid event on its own (a codec's record value, e.g. lab 07's sealed PII). An event
 * the codec refuses as a misfit (400) joins `rejected` with its reason; any other failure stays with
 * its event in `values`, to fail its publish (and answer 500 through publishBatch's `bug`).
 */
export async function encodeBatch(
  valid: { index: number; event: EnrichedEvent }[],
  encode: (event: EnrichedEvent) => Promise<Buffer>,
): Promise<{ encodable: { index: number; event: EnrichedEvent }[]; values: Map<EnrichedEvent, Promise<Buffer>>; rejected: RejectedEvent[] }> {
  const outcomes = await Promise.allSettled(valid.map(({ event }) => encode(event)));
  const encodable: { index: number; event: EnrichedEvent }[] = [];
  const values = new Map<EnrichedEvent, Promise<Buffer>>();
  const rejected: RejectedEvent[] = [];
  outcomes.forEach((outcome, i) => {
    const item = valid[i]!;
    if (outcome.status === 'rejected' && outcome.reason instanceof EventEncodeError && outcome.reason.status === 400) {
      rejected.push({ index: item.index, reason: outcome.reason.message, issues: [] });
      return;
    }
    encodable.push(item);
    values.set(item.event, outcome.status === 'fulfilled' ? Promise.resolve(outcome.value) : Promise.reject(outcome.reason));
    values.get(item.event)!.catch(() => undefined); // awaited by its publish; not an unhandled rejection meanwhile
  });
  return { encodable, values, rejected };
}

/**
 * Publishes every event at once (a batching publisher can put them in one produce request) and
 * waits for each to be acked or to fail. `bug` is the first failure that was not Kafka's.
 */
export async function publishBatch(
  valid: { index: number; event: EnrichedEvent }[],
  publish: (event: EnrichedEvent) => Promise<unknown>,
): Promise<{ acked: EventRef[]; notAcked: EventRef[]; bug?: unknown }> {
  const outcomes = await Promise.allSettled(valid.map(({ event }) => publish(event)));
  const acked: EventRef[] = [];
  const notAcked: EventRef[] = [];
  let bug: unknown;
  outcomes.forEach((outcome, i) => {
    const { index, event } = valid[i]!;
    if (outcome.status === 'fulfilled') {
      acked.push({ index, event_id: event.event_id });
    } else {
      notAcked.push({ index, event_id: event.event_id });
      if (!(outcome.reason instanceof KafkaUnavailableError)) bug ??= outcome.reason;
    }
  });
  return { acked, notAcked, bug };
}
