/**
 * Request path tracing: one event's way through nginx, an API replica and a worker, as epoch
 * timestamps in milliseconds that all processes of this machine read from the same clock.
 *
 * - nginx stamps the request it forwards with `X-Request-Start: t=<seconds.millis>` and
 *   `X-Request-Id` (infra/nginx/nginx.conf.template).
 * - The API (labs/01-ingest/src/app.ts) records `api_received`, `api_validated`,
 *   `api_produce_start`, `api_acked`; it answers the 202 with them in `x-trace-spans`, and
 *   writes the request id and its spans so far as Kafka headers (`request_id`, `trace`).
 * - The worker (labs/02-consumer-groups/src/instrumentation.ts) records `worker_polled`,
 *   `worker_processed`, `worker_committed` per request id, logs them and serves them at
 *   `GET /traces?request_id=…` on its metrics port.
 */

/** Stage name → epoch milliseconds (fractional: sub-millisecond where the clock has it). */
export type Spans = Partial<Record<Stage, number>>;

/** Every stage, in the order an event passes them. */
export const stages = [
  'client_sent',
  'nginx_received',
  'api_received',
  'api_validated',
  'api_produce_start',
  'api_acked',
  'client_response',
  'worker_polled',
  'worker_processed',
  'worker_committed',
] as const;

export type Stage = (typeof stages)[number];

/**
 * The two causal chains a trace must respect: the request and its answer, and the event's
 * way from the producer to the committed offset. (The worker may poll the event before the
 * producer's ack reaches the API: the two chains run side by side after `api_produce_start`.)
 */
export const causalChains: Stage[][] = [
  ['client_sent', 'nginx_received', 'api_received', 'api_validated', 'api_produce_start', 'api_acked', 'client_response'],
  ['api_produce_start', 'worker_polled', 'worker_processed', 'worker_committed'],
];

/** Now, as epoch milliseconds with the monotonic clock's sub-millisecond resolution. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/** nginx's `X-Request-Start: t=1732550000.123` (seconds, millisecond resolution) in epoch ms. */
export function parseRequestStart(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value?.match(/^t=(\d+(?:\.\d+)?)$/);
  return match ? Math.round(Number(match[1]) * 1000) : undefined;
}

/** `api_received=1732550000123.456,api_validated=…` — the form of the `x-trace-spans` header and the Kafka `trace` header. */
export function formatSpans(spans: Spans): string {
  // A plain loop: this runs twice per request on the API's hot path.
  let out = '';
  for (const stage in spans) {
    const t = spans[stage as Stage];
    if (typeof t === 'number') out += `${out ? ',' : ''}${stage}=${t.toFixed(3)}`;
  }
  return out;
}

export function parseSpans(text: string | undefined): Spans {
  const spans: Spans = {};
  for (const part of (text ?? '').split(',')) {
    const [stage, value] = part.split('=');
    if (stage && value && (stages as readonly string[]).includes(stage) && Number.isFinite(Number(value))) {
      spans[stage as Stage] = Number(value);
    }
  }
  return spans;
}

/** What a worker knows of one traced event. */
export interface WorkerTrace {
  request_id: string;
  event_id?: string;
  worker: string;
  partition: number;
  offset: number;
  spans: Pick<Spans, 'worker_polled' | 'worker_processed' | 'worker_committed'>;
}

/**
 * Keeps the worker's spans of recent events by request id (the last `capacity`). An event is
 * complete once the offset after it has been committed.
 */
export class WorkerTraceRecorder {
  private readonly byRequestId = new Map<string, WorkerTrace>();
  private readonly pending = new Map<number, WorkerTrace[]>();
  private readonly lastPoll = new Map<number, number>();

  constructor(private readonly o: { worker: string; capacity?: number; onComplete?: (trace: WorkerTrace) => void }) {}

  /** A batch of `partition` reached the worker. */
  polled(partition: number, at = nowMs()): void {
    this.lastPoll.set(partition, at);
  }

  /** The event at `partition`/`offset` was processed between `startedAt` and `at`. */
  processed(e: { request_id?: string; event_id?: string; partition: number; offset: number }, at = nowMs()): void {
    if (!e.request_id) return;
    const trace: WorkerTrace = {
      request_id: e.request_id,
      event_id: e.event_id,
      worker: this.o.worker,
      partition: e.partition,
      offset: e.offset,
      spans: { worker_polled: this.lastPoll.get(e.partition) ?? at, worker_processed: at },
    };
    this.byRequestId.set(e.request_id, trace);
    if (this.byRequestId.size > (this.o.capacity ?? 1000)) {
      this.byRequestId.delete(this.byRequestId.keys().next().value!);
    }
    const list = this.pending.get(e.partition) ?? [];
    list.push(trace);
    this.pending.set(e.partition, list);
  }

  /** The group committed `nextOffset` for `partition`: every event before it is done. */
  committed(partition: number, nextOffset: number, at = nowMs()): void {
    const list = this.pending.get(partition);
    if (!list) return;
    const remaining: WorkerTrace[] = [];
    for (const trace of list) {
      if (trace.offset < nextOffset) {
        trace.spans.worker_committed = at;
        this.o.onComplete?.(trace);
      } else {
        remaining.push(trace);
      }
    }
    this.pending.set(partition, remaining);
  }

  find(requestId: string): WorkerTrace | undefined {
    return this.byRequestId.get(requestId);
  }
}

/** One line of a printed timeline. */
export interface TimelineEntry {
  stage: Stage;
  at: number;
  /** Milliseconds since the first stage. */
  sinceStartMs: number;
  who: string;
  what: string;
}

/** Stages sorted by time, with T+ms relative to the earliest. */
export function timeline(spans: Spans, describe: (stage: Stage) => { who: string; what: string }): TimelineEntry[] {
  const entries = stages
    .filter((stage) => typeof spans[stage] === 'number')
    .map((stage) => ({ stage, at: spans[stage]!, ...describe(stage) }))
    .sort((a, b) => a.at - b.at || stages.indexOf(a.stage) - stages.indexOf(b.stage));
  const start = entries[0]?.at ?? 0;
  return entries.map((e) => ({ ...e, sinceStartMs: e.at - start }));
}

/** `T+   0.0 ms  client    POST /track sent`, one line per stage. */
export function formatTimeline(entries: TimelineEntry[]): string {
  const whoWidth = Math.max(...entries.map((e) => e.who.length), 6);
  return entries
    .map((e) => `T+${e.sinceStartMs.toFixed(1).padStart(7)} ms  ${e.who.padEnd(whoWidth)}  ${e.what}`)
    .join('\n');
}
