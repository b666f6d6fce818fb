import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import { apiClient, type Call, expectError } from './kit/api.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { asUser, testAuthenticator } from './kit/test-auth.ts';

// Proxy-style route groups: a per-token limit and a cap on requests in flight.
const PER_TOKEN = 2;
const CAPACITY = 2;

const db = useTestDatabase();
let kit: StoreKit;
let server: TestServer;
let call: Call;
let owner: User;

/** A request the test holds inside the handler until it lets it go. */
class Held {
  /** Resolves once the handler is running (the request holds a slot). */
  readonly inside: Promise<void>;
  /** Resolves once the server has seen the response end or the client go away. */
  readonly closed: Promise<void>;
  readonly gate: Promise<void>;
  entered = () => {};
  release = () => {};
  close = () => {};
  constructor() {
    this.inside = new Promise((r) => {
      this.entered = r;
    });
    this.gate = new Promise((r) => {
      this.release = r;
    });
    this.closed = new Promise((r) => {
      this.close = r;
    });
  }
}
const held = new Map<string, Held>();

function hold(id: string): Held {
  const h = new Held();
  held.set(id, h);
  return h;
}

function proxyRoutes(app: FastifyInstance) {
  app.get(
    '/test/proxy/:id',
    { config: { rateLimitGroup: 'proxy', acceptApiKeyHeader: true } },
    async (request, reply) => {
      const h = held.get((request.params as { id: string }).id);
      if (h) {
        // Registered after the limiter's own listener, so when this runs the slot is free.
        reply.raw.once('close', h.close);
        h.entered();
        await h.gate;
      }
      return { ok: true };
    },
  );
  app.get('/test/plain', async () => ({ ok: true }));
}

beforeAll(async () => {
  kit = storeKit(db.url);
  owner = await kit.user('root', { siteRoles: ['owner'] });
  server = await startTestServer(db.url, {
    authenticate: testAuthenticator(kit),
    config: { rateLimitApi: 1000, rateLimitPerToken: PER_TOKEN, proxyConcurrency: CAPACITY },
    extend: proxyRoutes,
  });
  call = apiClient(server);
});
afterAll(async () => {
  for (const h of held.values()) h.release();
  await server.close();
  await kit.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

it('limits each token across the group, whether sent as Bearer or X-Api-Key', async () => {
  const token = `tok-${Math.random()}`;
  expect((await call('GET', '/test/proxy/a', { headers: bearer(token) })).status).toBe(200);
  // Another path of the group counts against the same token.
  expect((await call('GET', '/test/proxy/b', { headers: { 'x-api-key': token } })).status).toBe(200);
  const refused = await call('GET', '/test/proxy/c', { headers: bearer(token) });
  expectError(refused, 429, 'with this token');
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(refused.headers.get('x-ratelimit-limit')).toBe(String(PER_TOKEN));
  expectError(await call('GET', '/test/proxy/d', { headers: { 'x-api-key': token } }), 429);

  // Another token has its own bucket; routes outside the group have no per-token limit.
  expect((await call('GET', '/test/proxy/a', { headers: bearer(`${token}-2`) })).status).toBe(200);
  for (let i = 0; i < PER_TOKEN + 2; i++)
    expect((await call('GET', '/test/plain', { headers: bearer(token) })).status).toBe(200);
});

it('the per-token limit applies whoever the caller is signed in as (owners may bypass it)', async () => {
  const token = `tok-${Math.random()}`;
  const a = await kit.user('tok-a');
  const b = await kit.user('tok-b');
  expect((await call('GET', '/test/proxy/a', { as: a, headers: bearer(token) })).status).toBe(200);
  expect((await call('GET', '/test/proxy/a', { as: b, headers: bearer(token) })).status).toBe(200);
  expectError(await call('GET', '/test/proxy/a', { as: b, headers: bearer(token) }), 429);
  expectError(
    await call('GET', '/test/proxy/a', {
      as: b,
      headers: { ...bearer(token), 'latchkey-bypass-ratelimit': 'true' },
    }),
    429,
  );
  const res = await call('GET', '/test/proxy/a', {
    as: owner,
    headers: { ...bearer(token), 'latchkey-bypass-ratelimit': 'true' },
  });
  expect(res.status).toBe(200);
});

it('answers 503 "at capacity" while the group has its limit of requests in flight, and frees slots on response', async () => {
  const first = hold('c1');
  const second = hold('c2');
  const r1 = server.request('/test/proxy/c1');
  const r2 = server.request('/test/proxy/c2');
  await Promise.all([first.inside, second.inside]);

  const full = await call('GET', '/test/proxy/c3');
  expectError(full, 503, 'at capacity');
  expect(full.body.message).toBe('at capacity');
  expect(full.headers.get('retry-after')).toBe('1');
  // Routes outside the group are not affected.
  expect((await call('GET', '/test/plain')).status).toBe(200);
  // Owners too are held to capacity: it protects the replica, it is not a rate.
  expectError(
    await call('GET', '/test/proxy/c3', { as: owner, headers: { 'latchkey-bypass-ratelimit': 'true' } }),
    503,
  );
  expect((await call('GET', '/metrics')).body).toContain('latchkey_ratelimit_in_flight{group="proxy"} 2\n');

  first.release();
  expect((await r1).status).toBe(200);
  await first.closed;
  expect((await call('GET', '/test/proxy/c4')).status).toBe(200);

  second.release();
  expect((await r2).status).toBe(200);
});

it('frees the slot of a request whose client went away', async () => {
  const gone = hold('a1');
  const stays = hold('a2');
  const abort = new AbortController();
  const r1 = server.request('/test/proxy/a1', { signal: abort.signal }).catch((err: unknown) => err);
  const r2 = server.request('/test/proxy/a2');
  await Promise.all([gone.inside, stays.inside]);
  expectError(await call('GET', '/test/proxy/a3'), 503);

  abort.abort();
  expect(await r1).toBeInstanceOf(Error);
  await gone.closed;
  // The handler of the aborted request is still running, but its slot is free.
  expect((await call('GET', '/test/proxy/a3')).status).toBe(200);

  gone.release();
  stays.release();
  expect((await r2).status).toBe(200);
});

it('0 disables the per-token limit and the concurrency limit', async () => {
  const off = await startTestServer(db.url, {
    config: { rateLimitApi: 0, rateLimitPerToken: 0, proxyConcurrency: 0 },
    extend: proxyRoutes,
  });
  try {
    const token = `tok-${Math.random()}`;
    for (let i = 0; i < PER_TOKEN + 3; i++) {
      const res = await off.request('/test/proxy/z', { headers: bearer(token) });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
    }
    const many = ['o1', 'o2', 'o3', 'o4'].map(hold);
    const pending = ['o1', 'o2', 'o3', 'o4'].map((id) => off.request(`/test/proxy/${id}`));
    await Promise.all(many.map((h) => h.inside)); // all four got in
    for (const h of many) h.release();
    expect((await Promise.all(pending)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
  } finally {
    await off.close();
  }
});

it('a signed-in user is limited per route on proxy routes too', async () => {
  const limited = await startTestServer(db.url, {
    authenticate: testAuthenticator(kit),
    config: { rateLimitApi: 1, rateLimitPerToken: 100 },
    extend: proxyRoutes,
  });
  try {
    const u = await kit.user('proxy-user');
    expect((await limited.request('/test/proxy/x', { headers: asUser(u) })).status).toBe(200);
    expect((await limited.request('/test/proxy/y', { headers: asUser(u) })).status).toBe(429);
  } finally {
    await limited.close();
  }
});
