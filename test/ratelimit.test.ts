import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueKey } from '../src/apikeys/index.ts';
import type { User } from '../src/db/index.ts';
import { type ApiResponse, apiClient, type Call, expectError } from './kit/api.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { asUser, testAuthenticator } from './kit/test-auth.ts';

// Per user (else per address) per route pattern, with the in-memory store (the default).
const LIMIT = 3;
const BYPASS = { 'latchkey-bypass-ratelimit': 'true' };

const db = useTestDatabase();
let kit: StoreKit;
let server: TestServer;
let call: Call;
let owner: User;

/** Routes that need no database, so a test spends its requests on the limiter only. */
function testRoutes(app: FastifyInstance) {
  for (const path of ['/test/things/:id', '/test/anon', '/test/bypass', '/test/other', '/test/keys'])
    app.get(path, async () => ({ ok: true }));
}

beforeAll(async () => {
  kit = storeKit(db.url);
  owner = await kit.user('root', { siteRoles: ['owner'] });
  server = await startTestServer(db.url, {
    authenticate: testAuthenticator(kit),
    config: { rateLimitApi: LIMIT },
    extend: testRoutes,
  });
  call = apiClient(server);
});
afterAll(async () => {
  await server.close();
  await kit.close();
});

let users = 0;
const freshUser = () => kit.user(`rl${++users}`);

/** Makes `n` requests one after another and answers their statuses. */
async function statuses(n: number, request: () => Promise<ApiResponse>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await request()).status);
  return out;
}

it('a caller over the limit gets 429 with Retry-After, and every limited response says where it stands', async () => {
  const alice = await freshUser();
  const before = Math.floor(Date.now() / 1000);
  for (let i = 0; i < LIMIT; i++) {
    const res = await call('GET', '/test/things/1', { as: alice });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit')).toBe(String(LIMIT));
    expect(res.headers.get('x-ratelimit-remaining')).toBe(String(LIMIT - 1 - i));
    const reset = Number(res.headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThan(before);
    // The window opens at the first request, which may fall in the second after `before`,
    // and the header rounds up: at most 60 s + 2.
    expect(reset).toBeLessThanOrEqual(before + 62);
  }

  const refused = await call('GET', '/test/things/1', { as: alice });
  expectError(refused, 429, 'try again');
  const retryAfter = refused.headers.get('retry-after');
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(60);
  expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
  expect(refused.headers.get('x-ratelimit-limit')).toBe(String(LIMIT));

  const metrics = await call('GET', '/metrics');
  expect(metrics.body).toMatch(/latchkey_ratelimit_refused_total\{limit="route"\} [1-9]/);
});

it('buckets are per route pattern: different ids in a path share one, another route has its own', async () => {
  const alice = await freshUser();
  const ids = [alice.id, owner.id, '00000000-0000-4000-8000-000000000000'];
  for (const id of ids)
    expect((await call('GET', `/api/v1/users/${id}`, { as: alice })).status).not.toBe(429);
  const fourth = await call('GET', '/api/v1/users/me', { as: alice });
  expectError(fourth, 429);
  expect(fourth.body.detail).toContain('GET /api/v1/users/:user');
  // Another route (and another method on a pattern) is a bucket of its own.
  expect((await call('GET', '/api/v1/users', { as: alice })).status).toBe(200);
});

it('two users have separate buckets', async () => {
  const alice = await freshUser();
  const bob = await freshUser();
  expect(await statuses(LIMIT + 1, () => call('GET', '/test/other', { as: alice }))).toEqual([
    200, 200, 200, 429,
  ]);
  const res = await call('GET', '/test/other', { as: bob });
  expect(res.status).toBe(200);
  expect(res.headers.get('x-ratelimit-remaining')).toBe(String(LIMIT - 1));
});

it('anonymous callers are limited by address, and a refused credential counts as anonymous', async () => {
  expect(await statuses(LIMIT, () => call('GET', '/test/anon'))).toEqual([200, 200, 200]);
  expectError(await call('GET', '/test/anon'), 429);
  // A made-up token must not buy a fresh bucket (that would make guessing tokens free).
  expectError(await call('GET', '/test/anon', { headers: { authorization: 'Bearer lk_guess_guess' } }), 429);
  // A signed-in user from the same address is counted as themselves.
  expect((await call('GET', '/test/anon', { as: await freshUser() })).status).toBe(200);
  // Unknown paths share one bucket per caller, whatever the path.
  expect(await statuses(LIMIT + 1, () => call('GET', `/nowhere/${Math.random()}`))).toEqual([
    404, 404, 404, 429,
  ]);
});

it('an owner bypasses the limit with Latchkey-Bypass-Ratelimit: true', async () => {
  expect(await statuses(LIMIT + 1, () => call('GET', '/test/bypass', { as: owner }))).toEqual([
    200, 200, 200, 429,
  ]);
  const res = await call('GET', '/test/bypass', { as: owner, headers: BYPASS });
  expect(res.status).toBe(200);
  expect(res.headers.get('x-ratelimit-remaining')).toBeNull();
  // The bypass is on the request's log line, for the audit trail.
  const line = await server.logs.waitFor(
    (r) => r.msg === 'request' && r.route === '/test/bypass' && r.ratelimit_bypass === true,
  );
  expect(line.user_id).toBe(owner.id);
  // Without the header the owner is limited like anyone.
  expectError(await call('GET', '/test/bypass', { as: owner }), 429);
});

it('an owner key narrowed by scopes or an allow-list gets no bypass; an unnarrowed one does', async () => {
  const root = await kit.user(`rlowner${++users}`, { siteRoles: ['owner'] });
  const key = async (name: string, scopes: string[], allowList: string[]) => {
    const { token } = await issueKey(kit.raw, {
      userId: root.id,
      name,
      loginType: 'token',
      scopes,
      allowList,
      lifetimeMs: 3_600_000,
      now: new Date(),
    });
    return { authorization: `Bearer ${token}`, ...BYPASS };
  };
  const scoped = await key('scoped', ['user:read'], ['*:*']);
  const listed = await key('listed', ['latchkey:all'], ['user:*']);
  const full = await key('full', ['latchkey:all'], ['*:*']);

  // Counted against the owner's bucket like anyone's, header or not.
  const seen: Array<string | null> = [];
  for (let i = 0; i < LIMIT; i++) {
    const res = await call('GET', '/test/keys', { headers: scoped });
    expect(res.status).toBe(200);
    seen.push(res.headers.get('x-ratelimit-remaining'));
  }
  expect(seen).toEqual(['2', '1', '0']);
  expectError(await call('GET', '/test/keys', { headers: scoped }), 429);
  expectError(await call('GET', '/test/keys', { headers: listed }), 429);
  // The same owner's unnarrowed key still bypasses.
  const res = await call('GET', '/test/keys', { headers: full });
  expect(res.status).toBe(200);
  expect(res.headers.get('x-ratelimit-remaining')).toBeNull();
});

it('the bypass header from anyone but an owner is ignored: they are limited as usual', async () => {
  const alice = await freshUser();
  const seen: Array<string | null> = [];
  for (let i = 0; i < LIMIT; i++) {
    const res = await call('GET', '/test/bypass', { as: alice, headers: BYPASS });
    expect(res.status).toBe(200);
    seen.push(res.headers.get('x-ratelimit-remaining'));
  }
  expect(seen).toEqual(['2', '1', '0']);
  expectError(await call('GET', '/test/bypass', { as: alice, headers: BYPASS }), 429);
  // Anonymous senders of the header too.
  const other = await startTestServer(db.url, { config: { rateLimitApi: 1 }, extend: testRoutes });
  try {
    expect((await other.request('/test/anon', { headers: BYPASS })).status).toBe(200);
    expect((await other.request('/test/anon', { headers: BYPASS })).status).toBe(429);
  } finally {
    await other.close();
  }
});

it('probes and scrapes are never limited', async () => {
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    const codes = await statuses(LIMIT + 2, () => call('GET', path));
    expect(codes.every((c) => c === 200)).toBe(true);
    expect((await call('GET', path)).headers.get('x-ratelimit-limit')).toBeNull();
  }
});

it('0 disables the limit', async () => {
  const off = await startTestServer(db.url, {
    authenticate: testAuthenticator(kit),
    config: { rateLimitApi: 0 },
    extend: testRoutes,
  });
  try {
    const alice = await freshUser();
    for (let i = 0; i < 20; i++) {
      const res = await off.request('/test/things/1', { headers: asUser(alice) });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
    }
  } finally {
    await off.close();
  }
});

describe('anonymous callers behind a proxy', () => {
  const via = (forwardedFor: string) => ({ headers: { 'x-forwarded-for': forwardedFor } });

  it('with the proxy trusted, each forwarded client has its own bucket and is logged as itself', async () => {
    const behind = await startTestServer(db.url, {
      config: { rateLimitApi: 1, trustProxy: ['127.0.0.1'] },
      extend: testRoutes,
    });
    try {
      expect((await behind.request('/test/anon', via('203.0.113.7'))).status).toBe(200);
      expect((await behind.request('/test/anon', via('203.0.113.7'))).status).toBe(429);
      expect((await behind.request('/test/anon', via('198.51.100.9'))).status).toBe(200);
      // Only the address the proxy saw counts: what the client put before it is its own claim.
      expect((await behind.request('/test/anon', via('192.0.2.1, 198.51.100.9'))).status).toBe(429);
      const line = await behind.logs.waitFor((r) => r.route === '/test/anon' && r.status === 200);
      expect(line.client_ip).toBe('203.0.113.7');
    } finally {
      await behind.close();
    }
  });

  it('without it, X-Forwarded-For is ignored: a forged one buys no fresh bucket', async () => {
    const direct = await startTestServer(db.url, { config: { rateLimitApi: 1 }, extend: testRoutes });
    try {
      expect((await direct.request('/test/anon', via('203.0.113.7'))).status).toBe(200);
      expect((await direct.request('/test/anon', via('198.51.100.9'))).status).toBe(429);
      expect((await direct.request('/test/anon')).status).toBe(429);
      const line = await direct.logs.waitFor((r) => r.route === '/test/anon' && r.status === 200);
      expect(line.client_ip).toBe('127.0.0.1');
    } finally {
      await direct.close();
    }
  });
});
