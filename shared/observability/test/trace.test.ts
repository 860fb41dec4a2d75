/**
 * `npm run trace`'s function on real processes: nginx → an API replica → Kafka → a worker.
 * One event's trace has every stage, in an order that respects causality on this machine's clock.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { causalChains, stages } from '../../../shared/trace.js';
import { readTopic, uniqueTopic } from '../../../shared/testing/kafka.js';
import { startTraceStack, traceOneEvent, type TraceStack } from '../trace.js';

const { brokers } = inject('kafka');
const topic = uniqueTopic('obs-trace');
let stack: TraceStack;

beforeAll(async () => {
  stack = await startTraceStack(brokers, { topic, groupId: uniqueTopic('obs-trace-group') });
});
afterAll(async () => {
  await stack?.stop();
});

describe('request path tracing', () => {
  it('returns all ten stages of one event, client → nginx → API → Kafka → worker commit, in time order', async () => {
    await traceOneEvent({ nginxUrl: stack.nginxUrl, workerUrls: stack.workerUrls, event: { user_id: 'warm_up', event_type: 'page_view' } });
    const result = await traceOneEvent({ nginxUrl: stack.nginxUrl, workerUrls: stack.workerUrls });
    console.log(result.text);

    expect(result.status).toBe(202);
    expect(result.timeline.map((e) => e.stage).sort()).toEqual([...stages].sort());
    // Sorted by time, starting at T+0.
    expect(result.timeline[0]!.sinceStartMs).toBe(0);
    for (let i = 1; i < result.timeline.length; i++) expect(result.timeline[i]!.at).toBeGreaterThanOrEqual(result.timeline[i - 1]!.at);
    // Causality: each chain's stages follow one another. Stages stamped by different processes
    // are compared with 1 ms of slack: nginx's clock ($msec) moves in whole milliseconds, and
    // Node's processes map their monotonic clocks to wall time each at its own start.
    const processOf = (stage: string) => stage.split('_')[0];
    for (const chain of causalChains) {
      for (let i = 1; i < chain.length; i++) {
        const [before, after] = [chain[i - 1]!, chain[i]!];
        const slack = processOf(before) === processOf(after) ? 0 : 1;
        expect(result.spans[after]! + slack, `${before} ≤ ${after}`).toBeGreaterThanOrEqual(result.spans[before]!);
      }
    }
    expect(result.text.split('\n').filter((line) => line.startsWith('T+'))).toHaveLength(stages.length);

    // The same request id from nginx to the Kafka record the worker processed.
    expect(result.request_id).toMatch(/^[0-9a-f]{32}$/); // nginx's $request_id
    expect(result.worker!.request_id).toBe(result.request_id);
    expect(result.worker!.event_id).toBe(result.event_id);
    const record = (await readTopic(brokers, topic)).find((r) => r.value.event_id === result.event_id)!;
    expect(record.headers.request_id).toBe(result.request_id);
    expect(record.value.request_id).toBe(result.request_id);
    expect([record.partition, record.offset]).toEqual([result.worker!.partition, result.worker!.offset]);
  });
});
