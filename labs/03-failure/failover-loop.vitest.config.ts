import { defineConfig } from 'vitest/config';

/**
 * Scenario 5 alone, for failover-loop.sh: it starts its own 3-broker cluster, so the shared broker
 * and Toxiproxy of the main config's global setup would only cost a JVM start per run.
 */
export default defineConfig({
  test: {
    include: ['labs/03-failure/test/broker-failover.test.ts'],
    pool: 'forks',
    testTimeout: 90_000,
    hookTimeout: 120_000,
    env: { KAFKAJS_LOG_LEVEL: process.env.KAFKAJS_LOG_LEVEL ?? 'nothing' },
  },
});
