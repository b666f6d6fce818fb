import { sql } from 'kysely';
import { afterEach, expect, it } from 'vitest';
import { useTestDatabase } from './kit/database.ts';
import { LogCapture } from './kit/log-capture.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { freePort, TcpProxy } from './kit/tcp-proxy.ts';

const db = useTestDatabase();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function proxyFor(url: string): TcpProxy {
  const u = new URL(url);
  const proxy = new TcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
  cleanups.push(() => proxy.stop());
  return proxy;
}

function track(server: TestServer): TestServer {
  cleanups.push(() => server.close());
  return server;
}

it('waits for a database that comes up after the server starts', async () => {
  const proxy = proxyFor(db.url);
  proxy.port = await freePort();
  const logs = new LogCapture();
  const starting = startTestServer(proxy.urlFor(db.url), { logs, config: { dbConnectTimeout: 30_000 } });
  // The database is "down": start-up retries instead of failing...
  await logs.waitFor((r) => r.msg === 'database not reachable, retrying');
  // ...and proceeds once it is reachable.
  await proxy.start();
  const server = track(await starting);
  expect((await server.request('/readyz')).status).toBe(200);
});

it('/readyz is 503 while the database is unreachable and recovers when it is back', async () => {
  const proxy = proxyFor(db.url);
  await proxy.start();
  const server = track(await startTestServer(proxy.urlFor(db.url)));
  expect((await server.request('/readyz')).status).toBe(200);

  await proxy.stop();
  const down = await server.request('/readyz');
  expect(down.status).toBe(503);
  expect(await down.json()).toMatchObject({ message: 'Not ready: the database is not reachable.' });
  // Liveness is about the process, not its dependencies: restarting would not help.
  expect((await server.request('/healthz')).status).toBe(200);

  await proxy.start();
  expect((await server.request('/readyz')).status).toBe(200);
});

it('/readyz is 503 while a migration this build knows is not applied', async () => {
  const server = track(await startTestServer(db.url));
  await sql`DELETE FROM kysely_migration WHERE name = '0001_identity'`.execute(server.database.db);
  const res = await server.request('/readyz');
  expect(res.status).toBe(503);
  expect(await res.json()).toEqual({
    message: 'Not ready: migrations are pending.',
    detail: '0001_identity',
  });
});
