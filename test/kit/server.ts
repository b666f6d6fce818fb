import type { FastifyInstance } from 'fastify';
import { type Config, loadConfig } from '../../src/config/index.ts';
import type { RefreshTiming } from '../../src/externalauth/index.ts';
import type { Authenticator } from '../../src/http/index.ts';
import { createLogger, Metrics } from '../../src/observability/index.ts';
import { type RunningServer, startServer } from '../../src/runtime/index.ts';
import { testEncryptionKeys } from './encryption.ts';
import { LogCapture } from './log-capture.ts';

export interface TestServer extends RunningServer {
  readonly logs: LogCapture;
  /** fetch() relative to the server's URL. */
  request(path: string, init?: RequestInit): Promise<Response>;
}

export interface TestServerOptions {
  readonly config?: Partial<Config>;
  /** Routes that exist only in the test, added before the server listens. */
  readonly extend?: (app: FastifyInstance) => void;
  /** Pass one in to watch logs while the server is still starting. */
  readonly logs?: LogCapture;
  /** Who is calling (see test-auth.ts); anonymous when unset. */
  readonly authenticate?: Authenticator;
  /** Refresh retry timing; tests default to fast retries so outages resolve in milliseconds. */
  readonly refreshTiming?: Partial<RefreshTiming>;
}

/**
 * Starts the real server (the same start-up path as `latchkey server`) on a random port
 * against the given database. Logs are captured at debug level for assertions.
 */
export async function startTestServer(
  databaseUrl: string,
  options: TestServerOptions = {},
): Promise<TestServer> {
  const config = loadConfig({
    env: {},
    overrides: {
      databaseUrl,
      httpAddress: { host: '127.0.0.1', port: 0 },
      ...withTestKeys(),
      ...options.config,
    },
  });
  const logs = options.logs ?? new LogCapture();
  const server = await startServer({
    config,
    logger: createLogger('debug', logs),
    metrics: new Metrics({ processMetrics: false }),
    ...(options.extend ? { extend: options.extend } : {}),
    ...(options.authenticate ? { authenticate: options.authenticate } : {}),
    refreshTiming: { retryBaseMs: 1, ...options.refreshTiming },
    // Fake identity providers in test/fakes listen on plain http.
    allowInsecureIssuers: true,
  });
  return {
    ...server,
    logs,
    request: (path, init) => fetch(`${server.url}${path}`, init),
  };
}

// The suites the `dbcrypt` project of vitest.config.ts runs again with encryption on.
function withTestKeys(): Partial<Config> {
  const keys = testEncryptionKeys();
  return keys === undefined ? {} : { externalTokenEncryptionKeys: keys };
}
