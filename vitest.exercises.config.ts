import { defineConfig, mergeConfig } from 'vitest/config';
import suite from './vitest.config.js';

/**
 * The graded exercises (`labs/NN-*\/exercises/*.exercise.test.ts`): run only on request, by
 * `npm run learn -- exercise <lab> [<n>]`. Same setup as the suite (one broker, one Toxiproxy).
 * They fail on the reference by design: each checks an exercise the reference leaves undone.
 */
export default mergeConfig(suite, defineConfig({
  test: { include: ['labs/*/exercises/*.exercise.test.ts'] },
}));
