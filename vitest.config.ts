import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/kit/global-setup.ts'],
    // Files run in parallel, each in its own database cloned from a migrated template.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
