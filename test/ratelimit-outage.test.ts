import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterEach, expect, it } from 'vitest';
import type { Config } from '../src/config/index.ts';
import { useTestDatabase } from './kit/database.ts';
import type { LogRecord } from './kit/log-capture.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { freePort, TcpProxy } from './kit/tcp-proxy.ts';

// When the shared store is unreachable, each replica keeps limiting on its own (in memory),
// logs one warning, and goes back to the shared counters once the store answers again.
const REDIS_URL = 'redis://127.0.0.1:6379';
const LIMIT = 3;
const WARNING = 'rate-limit store unreachable; counting in memory on this replica until it is back';
const RECOVERED = 'rate-limit store reachable again; counters are shared again';

const db = useTestDatabase();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function proxyTo(url: string): TcpProxy {
  const u = new URL(url);
  const proxy = new TcpProxy({ host: u.hostname, port: Number(u.port) });
  cleanups.push(() => proxy.stop());
  return proxy;
}

async function server(config: Partial<Config>, databaseUrl = db.url): Promise<TestServer> {
  const s = await startTestServer(databaseUrl, {
    config: { rateLimitApi: LIMIT, rateLimitKeyPrefix: `lkt-${randomBytes(6).toString('hex')}`, ...config },
    // Needs no database, so only the limiter notices an outage.
    extend: (app: FastifyInstance) => app.get('/test/ping', async () => ({ ok: true })),
  });
  cleanups.push(() => s.close());
  return s;
}

const isMsg = (msg: string) => (r: LogRecord) => r.msg === msg;

async function remaining(s: TestServer): Promise<[number, string | null]> {
  const res = await s.request('/test/ping');
  return [res.status, res.headers.get('x-ratelimit-remaining')];
}

/** The store goes away and comes back; the limit holds throughout, and no request fails. */
async function survivesOutage(s: TestServer, proxy: TcpProxy) {
  expect(await remaining(s)).toEqual([200, '2']); // counted in the store

  await proxy.stop();
  // Counted in memory from here on: the limit still holds, and nothing is a 500.
  expect([await remaining(s), await remaining(s), await remaining(s)]).toEqual([
    [200, '2'],
    [200, '1'],
    [200, '0'],
  ]);
  expect((await s.request('/test/ping')).status).toBe(429);
  const warnings = s.logs.records.filter(isMsg(WARNING));
  expect(warnings).toHaveLength(1); // one line per outage, not one per request
  expect(warnings[0]?.level).toBe('warn');
  expect((await (await s.request('/metrics')).text()).includes('latchkey_ratelimit_store_fallback 1')).toBe(
    true,
  );

  await proxy.start();
  await s.logs.waitFor(isMsg(RECOVERED));
  // Back on the shared counter, which had counted one request before the outage.
  expect(await remaining(s)).toEqual([200, '1']);
  expect((await (await s.request('/metrics')).text()).includes('latchkey_ratelimit_store_fallback 0')).toBe(
    true,
  );
}

it('postgres store: an unreachable database means in-memory limits and a warning, then shared counters again', async () => {
  const proxy = proxyTo(db.url);
  await proxy.start();
  const s = await server({ rateLimitStore: 'postgres' }, proxy.urlFor(db.url));
  await survivesOutage(s, proxy);
});

it('redis store: an unreachable Redis means in-memory limits and a warning, then shared counters again', async () => {
  const proxy = proxyTo(REDIS_URL);
  await proxy.start();
  const s = await server({ rateLimitStore: 'redis', redisUrl: proxy.urlFor(REDIS_URL) });
  await survivesOutage(s, proxy);
});

it('redis store: a server whose Redis is down at start still starts, limits in memory, and warns', async () => {
  const port = await freePort();
  const s = await server({ rateLimitStore: 'redis', redisUrl: `redis://127.0.0.1:${port}` });
  await s.logs.waitFor(isMsg(WARNING));
  const codes = [];
  for (let i = 0; i <= LIMIT; i++) codes.push((await s.request('/test/ping')).status);
  expect(codes).toEqual([200, 200, 200, 429]);
  expect((await s.request('/readyz')).status).toBe(200);
});
