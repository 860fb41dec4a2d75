/**
 * `npm run trace`: sends one event through nginx and prints its real timeline, T+ms from the
 * moment the client sent it, as measured on this machine:
 *
 *   client → nginx (request id) → API (received, validated, produce, acked) → 202 to the client
 *                                     └─► Kafka → worker (polled, processed, committed)
 *
 * It uses the stack `npm run up` left running when nginx answers on NGINX_PORT (the workers'
 * spans come from their metrics ports, WORKER_METRICS_PORT_BASE + n); otherwise it starts a
 * small stack of its own (Kafka, one API replica, nginx, one worker), traces a warm-up event
 * and then the event it prints, and stops it again.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiReplica, type ApiReplica } from '../../infra/api.js';
import { startKafka, type KafkaBroker } from '../../infra/kafka.js';
import { startNginx, type NginxServer } from '../../infra/nginx.js';
import { freePort, portAcceptsConnections, waitFor } from '../../infra/processes.js';
import { stackPorts } from '../../infra/stack.js';
import { startWorker, type WorkerProcess } from '../../infra/worker.js';
import { httpRequest } from '../http.js';
import { createKafka, ensureTopic } from '../kafka.js';
import {
  formatTimeline, nowMs, parseSpans, timeline, type Spans, type Stage, type TimelineEntry, type WorkerTrace,
} from '../trace.js';
import { waitForStableGroup } from '../testing/groups.js';

export interface TraceResult {
  request_id: string;
  event_id: string;
  status: number;
  api_instance?: string;
  worker?: WorkerTrace;
  spans: Spans;
  timeline: TimelineEntry[];
  /** The printable timeline. */
  text: string;
}

/** Asks every worker's metrics server for the request id's spans until one has them committed. */
async function workerSpans(workerUrls: string[], requestId: string, timeoutMs: number): Promise<WorkerTrace | undefined> {
  // Only the workers whose metrics server answers (a worker started without METRICS_PORT has none).
  const reachable = (await Promise.all(workerUrls.map(async (url) => ((await portAcceptsConnections(Number(new URL(url).port))) ? url : undefined))))
    .filter((url): url is string => url !== undefined);
  if (reachable.length === 0) return undefined;
  workerUrls = reachable;
  return waitFor(`the worker spans of request ${requestId}`, async () => {
    for (const url of workerUrls) {
      try {
        const response = await fetch(`${url}/traces?request_id=${encodeURIComponent(requestId)}`, { signal: AbortSignal.timeout(2_000) });
        const trace = (await response.json()) as WorkerTrace | null;
        if (trace?.spans.worker_committed !== undefined) return trace;
      } catch {
        /* that worker is not there (any more) */
      }
    }
    return undefined;
  }, { timeoutMs, intervalMs: 100 });
}

/**
 * Sends one event to `nginxUrl` and collects its spans: the client's own, nginx's and the
 * API's (from the 202's `x-trace-spans` header) and the worker's (from `workerUrls`).
 */
export async function traceOneEvent(opts: {
  nginxUrl: string;
  /** Base URLs of the workers' metrics servers. */
  workerUrls: string[];
  event?: Record<string, unknown>;
  localAddress?: string;
  timeoutMs?: number;
}): Promise<TraceResult> {
  const event = opts.event ?? { user_id: 'trace_user', event_type: 'page_view', properties: { page: '/pricing' } };
  const clientSent = nowMs();
  const response = await httpRequest({ url: `${opts.nginxUrl}/track`, body: event, localAddress: opts.localAddress, timeoutMs: 15_000 });
  const clientResponse = nowMs();
  if (response.status !== 202) throw new Error(`POST /track answered ${response.status}: ${JSON.stringify(response.body)}`);
  const requestId = String(response.headers['x-request-id'] ?? '');
  const apiInstance = response.headers['x-api-instance'] as string | undefined;
  const apiSpans = parseSpans(response.headers['x-trace-spans'] as string | undefined);
  const worker = await workerSpans(opts.workerUrls, requestId, opts.timeoutMs ?? 30_000);
  const spans: Spans = { client_sent: clientSent, ...apiSpans, client_response: clientResponse, ...worker?.spans };
  // nginx's clock ($msec) moves in whole milliseconds: its stamp may read up to 1 ms before the
  // client's send. Shown at the send then, as the request cannot have arrived earlier.
  if (spans.nginx_received !== undefined && spans.nginx_received < clientSent && clientSent - spans.nginx_received < 1) {
    spans.nginx_received = clientSent;
  }
  const describe = (stage: Stage): { who: string; what: string } => {
    const api = apiInstance ?? 'api';
    const w = worker?.worker ?? 'worker';
    switch (stage) {
      case 'client_sent': return { who: 'client', what: 'POST /track sent to nginx' };
      case 'nginx_received': return { who: 'nginx', what: `request id ${requestId} assigned, rate limit passed, forwarded to ${api} (nginx's clock: 1 ms steps)` };
      case 'api_received': return { who: api, what: 'request received (Fastify onRequest)' };
      case 'api_validated': return { who: api, what: 'body validated (zod) and enriched' };
      case 'api_produce_start': return { who: api, what: 'producer.send to Kafka (acks=all)' };
      case 'api_acked': return { who: api, what: 'Kafka acked the write: answering 202' };
      case 'client_response': return { who: 'client', what: `202 Accepted received (event_id ${response.body.event_id})` };
      case 'worker_polled': return { who: w, what: `batch polled from partition ${worker?.partition}` };
      case 'worker_processed': return { who: w, what: `event at offset ${worker?.offset} applied to the profile store` };
      case 'worker_committed': return { who: w, what: `offset ${(worker?.offset ?? 0) + 1} committed for the group` };
    }
  };
  const entries = timeline(spans, describe);
  const header = `Request path trace: request_id ${requestId}, event_id ${response.body.event_id}` +
    (worker ? ` (partition ${worker.partition}, offset ${worker.offset})` : ' (no worker spans: are the workers serving METRICS_PORT?)');
  const totals = [
    `client round trip ${(clientResponse - clientSent).toFixed(1)} ms`,
    apiSpans.api_acked !== undefined && apiSpans.api_produce_start !== undefined
      ? `Kafka ack ${(apiSpans.api_acked - apiSpans.api_produce_start).toFixed(1)} ms` : undefined,
    worker?.spans.worker_committed !== undefined ? `sent → committed ${(worker.spans.worker_committed - clientSent).toFixed(1)} ms` : undefined,
  ].filter(Boolean).join(', ');
  return {
    request_id: requestId,
    event_id: String(response.body.event_id),
    status: response.status,
    api_instance: apiInstance,
    worker,
    spans,
    timeline: entries,
    text: `${header}\n${formatTimeline(entries)}\n${totals}`,
  };
}

export interface TraceStack {
  nginxUrl: string;
  workerUrls: string[];
  stop(): Promise<void>;
}

/**
 * One API replica behind nginx and one worker (serving its metrics and traces) on `brokers`,
 * ready once the worker owns every partition of `topic`.
 */
export async function startTraceStack(brokers: string[], opts: { topic?: string; groupId?: string; dir?: string } = {}): Promise<TraceStack> {
  const topic = opts.topic ?? 'crm-events';
  const groupId = opts.groupId ?? 'crm-event-processors';
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'crm-trace-'));
  const kafka = createKafka(brokers, 'crm-lab-trace');
  await ensureTopic(kafka, topic, 2);
  const env = { KAFKA_TOPIC: topic, CONSUMER_GROUP: groupId };
  let api: ApiReplica | undefined;
  let nginx: NginxServer | undefined;
  let worker: WorkerProcess | undefined;
  const stop = async () => {
    await nginx?.process.stop();
    await Promise.all([api?.process.stop(), worker?.process.stop()]);
  };
  try {
    const metricsPort = await freePort();
    worker = startWorker({ id: 'worker-1', brokers, profileDb: join(dir, 'profiles.db'), logDir: dir, env: { ...env, METRICS_PORT: String(metricsPort) } });
    api = await startApiReplica({ id: 'api-1', brokers, logDir: dir, env });
    nginx = await startNginx({ upstreams: [`127.0.0.1:${api.port}`], prefix: join(dir, 'nginx'), workers: 1 });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await waitForStableGroup(admin, groupId, topic, 1);
    } finally {
      await admin.disconnect();
    }
    const workerUrl = `http://127.0.0.1:${metricsPort}`;
    await waitFor('worker metrics server', () => portAcceptsConnections(metricsPort));
    return { nginxUrl: nginx.url, workerUrls: [workerUrl], stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function main(): Promise<void> {
  const ports = stackPorts();
  if (await portAcceptsConnections(ports.nginx)) {
    const workers = Number(process.env.WORKERS ?? 2);
    const workerUrls = Array.from({ length: workers }, (_, i) => `http://127.0.0.1:${ports.workerMetricsBase + i + 1}`);
    console.log(`Using the running stack (nginx on port ${ports.nginx}, worker metrics on ${workerUrls.join(' ')}).\n`);
    const result = await traceOneEvent({ nginxUrl: `http://127.0.0.1:${ports.nginx}`, workerUrls, timeoutMs: 15_000 });
    console.log(result.text);
    if (!result.worker) {
      console.log('\nNo worker answered on its metrics port: only a worker that serves METRICS_PORT reports its spans.\n' +
        'Stop the stack (npm run down) and run `npm run trace` alone: it starts a stack of its own.');
    }
    return;
  }
  console.log('No stack running on the nginx port: starting Kafka, one API replica, nginx and one worker for this trace…');
  const kafka: KafkaBroker = await startKafka();
  try {
    const stack = await startTraceStack(kafka.brokers, { dir: kafka.options.dataDir });
    try {
      // The first event pays for connections, metadata and JIT; the second shows the steady path.
      await traceOneEvent({ nginxUrl: stack.nginxUrl, workerUrls: stack.workerUrls, event: { user_id: 'warm_up', event_type: 'page_view' } });
      const result = await traceOneEvent({ nginxUrl: stack.nginxUrl, workerUrls: stack.workerUrls });
      console.log(`\n${result.text}`);
    } finally {
      await stack.stop();
    }
  } finally {
    await kafka.process.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
  process.exit(0);
}
