/**
 * Where an event's end-to-end time goes, stage by stage: a pure function of the timestamps
 * collected per event (the client's send, the API's spans from `x-trace-spans`, the worker's spans
 * from its trace log lines), all epoch ms on this machine's clock (shared/trace.ts).
 */
import { percentile } from '../stats.js';

export interface EventStamps {
  client_sent: number;
  client_response?: number;
  nginx_received?: number;
  api_received?: number;
  api_validated?: number;
  api_produce_start?: number;
  api_acked?: number;
  worker_polled?: number;
  worker_processed?: number;
  worker_committed?: number;
}

type Point = keyof EventStamps;

/** The stages reported, each from one stamp to the next on the event's way to the profile store. */
export const STAGES: { name: string; from: Point; to: Point }[] = [
  { name: 'client → API received (nginx, queue for a replica)', from: 'client_sent', to: 'api_received' },
  { name: 'API received → produce start (parse, validate)', from: 'api_received', to: 'api_produce_start' },
  { name: 'produce start → broker ack (linger, produce request)', from: 'api_produce_start', to: 'api_acked' },
  { name: 'produce start → worker polled (append, fetch, kafkajs queue)', from: 'api_produce_start', to: 'worker_polled' },
  { name: 'worker polled → processed (decode, SQLite transaction)', from: 'worker_polled', to: 'worker_processed' },
  { name: 'worker processed → offset committed', from: 'worker_processed', to: 'worker_committed' },
  { name: 'HTTP: client send → 202', from: 'client_sent', to: 'client_response' },
  { name: 'end to end: client send → processed', from: 'client_sent', to: 'worker_processed' },
  { name: 'end to end: client send → committed', from: 'client_sent', to: 'worker_committed' },
];

export interface StageRow {
  name: string;
  events: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function stageBreakdown(events: EventStamps[]): StageRow[] {
  return STAGES.map(({ name, from, to }) => {
    const values = events.flatMap((e) => (e[from] !== undefined && e[to] !== undefined ? [e[to]! - e[from]!] : [])).sort((a, b) => a - b);
    return {
      name, events: values.length,
      p50: percentile(values, 50), p90: percentile(values, 90), p99: percentile(values, 99), max: values.length ? values[values.length - 1]! : NaN,
    };
  });
}
