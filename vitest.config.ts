import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['labs/**/test/**/*.test.ts', 'system/**/*.test.ts', 'bench/**/*.test.ts', 'shared/**/*.test.ts', 'infra/**/*.test.ts', 'tools/**/*.test.ts'],
    // One Kafka broker and one Toxiproxy for the whole run; see shared/testing/global-setup.ts.
    globalSetup: ['shared/testing/global-setup.ts'],
    // Two cores: files run one after another, each starting its own nginx and API replicas.
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 90_000,
    // Connection errors are what the failure tests provoke; the assertions report them.
    env: { KAFKAJS_LOG_LEVEL: process.env.KAFKAJS_LOG_LEVEL ?? 'nothing' },
    hookTimeout: 120_000,
  },
});
