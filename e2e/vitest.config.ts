import { defineConfig } from 'vitest/config';

// Browser tests (playwright-core driving Debian's chromium) live here; `.ci/run` installs
// chromium and runs them when any exist.
export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts'],
    globalSetup: ['test/kit/global-setup.ts'],
    passWithNoTests: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
