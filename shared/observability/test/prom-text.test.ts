import { Histogram } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../../shared/metrics.js';
import { histogramBuckets, histogramQuantile, parsePrometheusText, sum } from '../prom-text.js';

describe('Prometheus text format and histogram_quantile', () => {
  it('parses what prom-client serves, labels with escapes included', async () => {
    const registry = createRegistry();
    const h = new Histogram({ name: 'd_seconds', help: 'h', labelNames: ['route'], buckets: [0.1, 0.2, 0.4], registers: [registry] });
    for (const v of [0.05, 0.15, 0.15, 0.3]) h.observe({ route: '/a "x"\\y' }, v);
    const samples = parsePrometheusText(await registry.metrics());
    expect(sum(samples, 'd_seconds_count')).toBe(4);
    expect(samples.find((s) => s.name === 'd_seconds_count')!.labels.route).toBe('/a "x"\\y');
    expect(histogramBuckets(samples, 'd_seconds')).toEqual([
      { le: 0.1, count: 1 }, { le: 0.2, count: 3 }, { le: 0.4, count: 4 }, { le: Infinity, count: 4 },
    ]);
  });

  it('interpolates inside the bucket like Prometheus, and answers the top finite bound from +Inf', () => {
    const buckets = [{ le: 0.1, count: 1 }, { le: 0.2, count: 3 }, { le: 0.4, count: 4 }, { le: Infinity, count: 4 }];
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.15); // rank 2: halfway through (0.1, 0.2]
    expect(histogramQuantile(0.25, buckets)).toBeCloseTo(0.1);
    expect(histogramQuantile(1, buckets)).toBeCloseTo(0.4);
    expect(histogramQuantile(0.99, [{ le: 1, count: 1 }, { le: Infinity, count: 10 }])).toBe(1);
    expect(histogramQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }])).toBeNaN();
  });
});
