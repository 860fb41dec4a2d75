import { describe, expect, it } from 'vitest';
import { emptyTally, outcomeOf, type Tally } from '../spike/outcomes.js';
import { firstSaturation, type SpikeSample } from '../spike/saturation.js';

/** A quiet second of the stack; `over` changes what the case needs. */
const sample = (second: number, over: Partial<Omit<SpikeSample, 'tally'>> & { tally?: Partial<Tally> } = {}): SpikeSample => ({
  second, phase: second < 2 ? 'normal' : 'spike', lag: 0,
  ...over,
  cores: { nginx: 0.1, api: 0.2, kafka: 0.3, 'load generator': 0.05, machine: 0.7, other: 0.05, ...over.cores },
  perProcess: { 'api#1': 0.1, 'api#2': 0.1, 'worker#1': 0.1, ...over.perProcess },
  tally: { ...emptyTally(), ...over.tally },
});

describe('the spike bench\'s judgment of what saturated first', () => {
  it('names the first second a component shows it can take no more, and nothing while limits merely refuse', () => {
    // 429s alone, and a machine kept busy by someone else's load, are not saturation.
    expect(firstSaturation([sample(0), sample(1, { tally: { '429 edge': 900, '429 api': 50 }, cores: { machine: 2, other: 1.4 } })], 2)).toBeUndefined();
    expect(firstSaturation([sample(0), sample(1), sample(2, { perProcess: { 'api#2': 0.97 } }), sample(3, { tally: { '503 overloaded': 4 } })], 2))
      .toEqual({ second: 2, phase: 'spike', component: 'api', evidence: 'api#2 at 0.97 core (one event loop)' });
    expect(firstSaturation([sample(0), sample(1), sample(2, { tally: { '503 kafka_unavailable': 3 } })], 2))
      .toMatchObject({ second: 2, component: 'kafka' });
    expect(firstSaturation([0, 5, 40, 90].map((lag, s) => sample(s, { lag })), 2))
      .toEqual({ second: 3, phase: 'spike', component: 'workers', evidence: 'consumer lag growing: 0 → 5 → 40 → 90' });
    expect(firstSaturation([sample(0, { cores: { nginx: 1.1, api: 0.5, kafka: 0.3 } })], 2))
      .toMatchObject({ second: 0, component: 'nginx' });
  });

  it('tells nginx\'s 429 from the API\'s, and a shed request from one Kafka did not ack', () => {
    const body = (error: string, message: string) => () => JSON.stringify({ error, message });
    expect(outcomeOf(429, body('rate_limited', 'over the edge limit of 20 requests/s per client IP (burst 50); retry after Retry-After seconds'))).toBe('429 edge');
    expect(outcomeOf(429, body('rate_limited', 'rate limit of 100 requests per minute per client IP exceeded; retry in 1 minute'))).toBe('429 api');
    expect(outcomeOf(503, body('overloaded', 'this replica is past capacity'))).toBe('503 overloaded');
    expect(outcomeOf(503, body('kafka_unavailable', 'not acked'))).toBe('503 kafka_unavailable');
    expect(outcomeOf(503, body('service_unavailable', 'no API replica is available'))).toBe('503 other');
    expect([outcomeOf(202, () => ''), outcomeOf(0, () => ''), outcomeOf(502, () => '')]).toEqual(['202', 'no answer', 'other']);
  });
});
