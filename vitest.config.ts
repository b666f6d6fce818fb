import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/kit/global-setup.ts'],
    // Files run in parallel, each in its own database cloned from a migrated template.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'default', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] } },
      {
        // The vault's suites again with upstream tokens encrypted at rest (DC): the test kit
        // gives every server and store these keys, so the same assertions (exactly-once
        // refresh under races included) must hold through dbcrypt.
        extends: true,
        test: {
          name: 'dbcrypt',
          include: ['test/external-auth-*.test.ts'],
          env: {
            LATCHKEY_TEST_ENCRYPTION_KEYS:
              'ZGJjcnlwdC10ZXN0LWtleS1vbmUtMzItYnl0ZXMtISE=,ZGJjcnlwdC10ZXN0LWtleS10d28tMzItYnl0ZXMtISE=',
          },
        },
      },
    ],
  },
});
