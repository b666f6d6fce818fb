import { type Config, loadConfig } from '../../src/config/index.ts';
import { createLogger, Metrics } from '../../src/observability/index.ts';
import { type RunningServer, startServer } from '../../src/runtime/index.ts';
import { LogCapture } from './log-capture.ts';

export interface TestServer extends RunningServer {
  readonly logs: LogCapture;
  /** fetch() relative to the server's URL. */
  request(path: string, init?: RequestInit): Promise<Response>;
}

/**
 * Starts the real server (the same start-up path as `latchkey server`) on a random port
 * against the given database. Logs are captured at debug level for assertions.
 */
export async function startTestServer(databaseUrl: string, overrides: Partial<Config> = {}): Promise<TestServer> {
  const config = loadConfig({
    env: {},
    overrides: { databaseUrl, httpAddress: { host: '127.0.0.1', port: 0 }, ...overrides },
  });
  const logs = new LogCapture();
  const server = await startServer({
    config,
    logger: createLogger('debug', logs),
    metrics: new Metrics({ processMetrics: false }),
  });
  return {
    ...server,
    logs,
    request: (path, init) => fetch(`${server.url}${path}`, init),
  };
}
