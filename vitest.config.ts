import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests that start brokers and device processes are bounded by their own
    // timeouts; two workers match the two-core machines CI runs on.
    maxWorkers: 2,
  },
});
