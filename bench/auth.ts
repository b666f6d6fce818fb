import { hashPassword, issueKey } from '../src/apikeys/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { createStore, openDatabase } from '../src/db/index.ts';
import { createLogger, logDestination, Metrics } from '../src/observability/index.ts';
import { startServer } from '../src/runtime/index.ts';
import { benchDatabase } from './lib/database.ts';
import { load } from './lib/load.ts';
import { report } from './lib/report.ts';

/**
 * An authenticated request (`GET /api/v1/users/me` with an API key: precheck, key
 * validation, subject, authorized store, serialisation) against `/healthz` through the
 * same stack, side by side, at 50 connections. The difference in p99 latency is what
 * authentication adds; round trips per request show the validation cache at work.
 */
export async function benchAuth(seconds = 5, rounds = 2): Promise<void> {
  const database = await benchDatabase('auth');
  const metrics = new Metrics();
  const server = await startServer({
    config: loadConfig({
      env: {},
      overrides: { databaseUrl: database.url, httpAddress: { host: '127.0.0.1', port: 0 }, rateLimitApi: 0 },
    }),
    // The server's own log destination, writing every line to /dev/null.
    logger: createLogger('info', logDestination('/dev/null')),
    metrics,
  });
  const seed = openDatabase({
    url: database.url,
    poolMax: 1,
    metrics: new Metrics({ processMetrics: false }),
    logger: createLogger('silent'),
  });
  const raw = createStore(seed.db, seed.inTx);
  const user = await raw.insertUser({
    email: 'bench@example.com',
    username: 'bench',
    hashedPassword: await hashPassword('benchmark'),
  });
  const { token } = await issueKey(raw, {
    userId: user.id,
    name: 'bench',
    loginType: 'token',
    scopes: ['latchkey:all'],
    allowList: ['*:*'],
    lifetimeMs: 3_600_000,
    now: new Date(),
  });
  await seed.close();

  const headers = { authorization: `Bearer ${token}` };
  try {
    await load(`${server.url}/healthz`, 1, 50);
    await load(`${server.url}/api/v1/users/me`, 1, 50, headers);
    const health: Array<{ rps: number; p99: number }> = [];
    const me: Array<{ rps: number; p99: number }> = [];
    let requests = 0;
    const before = (await metrics.dbQueries.get()).values[0]?.value ?? 0;
    for (let i = 0; i < rounds; i++) {
      const h = await load(`${server.url}/healthz`, seconds, 50);
      health.push({ rps: h.requestsPerSecond, p99: h.p99Ms });
      const m = await load(`${server.url}/api/v1/users/me`, seconds, 50, headers);
      if (m.non2xx > 0) throw new Error(`${m.non2xx} of the authenticated requests failed`);
      me.push({ rps: m.requestsPerSecond, p99: m.p99Ms });
      requests += m.requestsPerSecond * seconds;
    }
    const queries = ((await metrics.dbQueries.get()).values[0]?.value ?? 0) - before;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const ratio = mean(me.map((x) => x.rps)) / mean(health.map((x) => x.rps));
    const added = mean(me.map((x) => x.p99)) - mean(health.map((x) => x.p99));
    report(
      'auth',
      [
        { name: '/healthz, full stack (baseline)', value: mean(health.map((x) => x.rps)), unit: 'req/s' },
        {
          name: 'GET /api/v1/users/me with an API key',
          value: mean(me.map((x) => x.rps)),
          unit: 'req/s',
          ratio,
          target: '>= 0.60',
          met: ratio >= 0.6,
        },
        { name: 'p99 /healthz at 50 connections', value: mean(health.map((x) => x.p99)), unit: 'ms' },
        { name: 'p99 /api/v1/users/me at 50 connections', value: mean(me.map((x) => x.p99)), unit: 'ms' },
        { name: 'p99 added by authentication', value: added, unit: 'ms', target: '< 2 ms', met: added < 2 },
        {
          name: 'PostgreSQL round trips per authenticated request',
          value: queries / Math.max(1, requests),
          unit: 'queries',
        },
      ],
      { database: database.where, seconds, rounds, connections: 50 },
    );
  } finally {
    await server.close();
    await database.close();
  }
}
