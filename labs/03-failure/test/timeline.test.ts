/**
 * The run timeline (src/timeline.ts): its per-100 ms counts, and the page it writes, opened in
 * headless Chromium (as system/test/observability/dashboard.test.ts drives it) to check the chart
 * is drawn: every series a visible line, the fault window a shaded band.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../infra/paths.js';
import { buckets, writeTimeline, type TimelineInput } from '../src/timeline.js';

// A hand-written run: steady 202s, a fault during which 503s and a reset appear, 429s after it.
const run: TimelineInput = {
  title: 'timeline test',
  attempts: [
    { at: 10, status: 202 }, { at: 60, status: 202 }, { at: 150, status: 202 },
    { at: 210, status: 503 }, { at: 230, status: 503 }, { at: 260, error: 'ECONNRESET' },
    { at: 320, status: 202 }, { at: 350, status: 429 }, { at: 420, status: 202 },
  ],
  lag: [{ at: 0, lag: 0 }, { at: 100, lag: 3 }, { at: 200, lag: 8 }, { at: 300, lag: 4 }, { at: 400, lag: 0 }],
  faults: [{ label: 'proxy disabled', from: 200, to: 300 }],
};

describe('the run timeline', () => {
  it('counts attempts per 100 ms by their start, split by answer (other statuses and network errors as errors)', () => {
    expect(buckets(run.attempts).map(({ t, sent, ...by }) => [t, sent, by['202'], by['429'], by['503'], by.errors])).toEqual([
      [0, 2, 2, 0, 0, 0], [100, 1, 1, 0, 0, 0], [200, 3, 0, 0, 2, 1], [300, 2, 1, 1, 0, 0], [400, 1, 1, 0, 0, 0],
    ]);
  });

  describe('in headless Chromium', () => {
    let browser: BrowserContext;
    let file: string;
    beforeAll(async () => {
      file = join(repoRoot, writeTimeline('timeline-test', run));
      browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'lab03-chromium-')), {
        executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
    });
    afterAll(async () => {
      await browser?.close();
      if (file) rmSync(file, { force: true });
    });

    it('draws every series as a visible line and shades the fault window', async () => {
      const page = browser.pages()[0] ?? (await browser.newPage());
      await page.goto(pathToFileURL(file).href);
      const lines = await page.locator('svg#timeline polyline.series').evaluateAll((els) => els.map((el) => {
        const box = (el as SVGGraphicsElement).getBBox();
        return { series: el.getAttribute('data-series'), points: (el as SVGPolylineElement).points.numberOfItems, width: box.width, height: box.height };
      }));
      expect(lines.map((l) => l.series)).toEqual(['sent', '202', '429', '503', 'errors', 'lag']);
      for (const l of lines) {
        expect(l.points, l.series!).toBeGreaterThan(1);
        expect(l.width, l.series!).toBeGreaterThan(0);
        expect(l.height, l.series!).toBeGreaterThan(0); // each series goes up somewhere: not a flat line at 0
      }
      const fault = page.locator('svg#timeline g.fault[data-fault="proxy disabled"] rect');
      const box = (el: Element) => {
        const b = (el as SVGGraphicsElement).getBBox(); // an SVGRect: copy what is needed across
        return { x: b.x, width: b.width };
      };
      const band = await fault.evaluate(box);
      const plot = await page.locator('svg#timeline > rect').first().evaluate(box);
      // From 200 to 300 ms of a 500 ms chart: a fifth of the plot's width, starting at 40 %.
      expect(band.width / plot.width).toBeCloseTo(0.2, 1);
      expect((band.x - plot.x) / plot.width).toBeCloseTo(0.4, 1);
      expect(await page.locator('svg#timeline g.fault text').textContent()).toBe('proxy disabled');
    });
  });
});
