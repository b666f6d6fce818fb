import { expect, it } from 'vitest';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer } from './kit/server.ts';

const db = useTestDatabase();

/** A route that holds its request until the test lets it go. */
function slowRoute() {
  let entered: () => void = () => {};
  let release: () => void = () => {};
  const inside = new Promise<void>((r) => {
    entered = r;
  });
  const gate = new Promise<void>((r) => {
    release = r;
  });
  return {
    inside,
    release,
    extend: (app: import('fastify').FastifyInstance) => {
      app.get('/test/slow', async () => {
        entered();
        await gate;
        return { finished: true };
      });
    },
  };
}

it('drains in-flight requests on shutdown and refuses new ones', async () => {
  const slow = slowRoute();
  const server = await startTestServer(db.url, { extend: slow.extend });
  const inFlight = server.request('/test/slow');
  await slow.inside;

  const closing = server.close();
  // A new request is refused (no listener) or told 503 (reused keep-alive connection).
  const late = await server.request('/healthz').then(
    (res) => res.status,
    () => 'refused',
  );
  expect([503, 'refused']).toContain(late);

  slow.release();
  const res = await inFlight;
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ finished: true });
  await closing;
  // The drain finished by itself: nothing had to be cut off at the shutdown timeout
  // (a keep-alive connection left open by the finished request would have forced it).
  expect(server.logs.records.some((r) => String(r.msg).includes('shutdown timeout'))).toBe(false);
  // After the drain the pool is closed too.
  await expect(server.database.pool.query('SELECT 1')).rejects.toThrow();
});

it('cuts off requests still running when the shutdown timeout passes', async () => {
  const slow = slowRoute();
  const server = await startTestServer(db.url, { extend: slow.extend, config: { shutdownTimeout: 50 } });
  // Settled into a value at once: the rejection happens during close(), before any
  // assertion could attach a handler to it.
  const inFlight = server.request('/test/slow').then(
    (res) => res.status,
    (err: unknown) => err,
  );
  await slow.inside;
  await server.close();
  expect(await inFlight).toBeInstanceOf(Error);
  expect(server.logs.records.some((r) => String(r.msg).includes('shutdown timeout'))).toBe(true);
  slow.release();
});
