import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { asUser, testAuthenticator } from './kit/test-auth.ts';

// With a shared store, two servers on one database stand for two replicas sharing counters.
const REDIS_URL = 'redis://127.0.0.1:6379';
const LIMIT = 3;

const db = useTestDatabase();
let kit: StoreKit;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(() => {
  kit = storeKit(db.url);
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await kit.close();
});

function routes(app: FastifyInstance) {
  app.get('/test/items/:id', async () => ({ ok: true }));
  app.get('/test/proxy/:id', { config: { rateLimitGroup: 'proxy' } }, async () => ({ ok: true }));
}

/** Two replicas with the given store, and a key prefix no other run uses. */
async function replicas(store: Partial<Config>): Promise<[TestServer, TestServer, string]> {
  const prefix = `lkt-${randomBytes(6).toString('hex')}`;
  const start = () =>
    startTestServer(db.url, {
      authenticate: testAuthenticator(kit),
      config: { rateLimitApi: LIMIT, rateLimitPerToken: LIMIT, rateLimitKeyPrefix: prefix, ...store },
      extend: routes,
    });
  const a = await start();
  cleanups.push(() => a.close());
  const b = await start();
  cleanups.push(() => b.close());
  return [a, b, prefix];
}

async function sharesCounters(a: TestServer, b: TestServer) {
  const user = await kit.user(`u${randomBytes(4).toString('hex')}`);
  const get = (s: TestServer, id: number) => s.request(`/test/items/${id}`, { headers: asUser(user) });
  const seen: Array<[number, string | null]> = [];
  for (const [server, id] of [
    [a, 1],
    [b, 2],
    [a, 3],
  ] as const) {
    const res = await get(server, id);
    seen.push([res.status, res.headers.get('x-ratelimit-remaining')]);
  }
  expect(seen).toEqual([
    [200, '2'],
    [200, '1'],
    [200, '0'],
  ]);
  // Each replica alone has seen at most two requests: only a shared counter refuses these.
  expect((await get(b, 4)).status).toBe(429);
  expect((await get(a, 5)).status).toBe(429);
}

async function tokenLimitShared(a: TestServer, b: TestServer, token: string) {
  const headers = { authorization: `Bearer ${token}` };
  const codes = [];
  for (const s of [a, b, a, b]) codes.push((await s.request('/test/proxy/1', { headers })).status);
  expect(codes).toEqual([200, 200, 200, 429]);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('postgres store', () => {
  it('two replicas on one database share counters', async () => {
    const [a, b] = await replicas({ rateLimitStore: 'postgres' });
    await sharesCounters(a, b);
  });

  it('shares per-token counters, stored under the SHA-256 of the token, never the token', async () => {
    const [a, b, prefix] = await replicas({ rateLimitStore: 'postgres', rateLimitApi: 100 });
    const token = `secret-${randomBytes(8).toString('hex')}`;
    await tokenLimitShared(a, b, token);
    const { rows } = await sql<{ key: string; points: number }>`
      SELECT key, points FROM rate_limits WHERE key LIKE ${`${prefix}:%`}`.execute(a.database.db);
    expect(rows.map((r) => r.key).join('\n')).not.toContain(token);
    expect(rows).toContainEqual({ key: `${prefix}:token:proxy:${sha256(token)}`, points: 4 });
  });
});

describe('redis store', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await redis.quit();
  });
  const dropKeys = (prefix: string) => async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  };

  it('two replicas share counters through REDIS_URL', async () => {
    const [a, b, prefix] = await replicas({ rateLimitStore: 'redis', redisUrl: REDIS_URL });
    cleanups.push(dropKeys(prefix));
    await sharesCounters(a, b);
    expect((await redis.keys(`${prefix}:route:*`)).length).toBeGreaterThan(0);
  });

  it('shares per-token counters, keyed by the SHA-256 of the token', async () => {
    const [a, b, prefix] = await replicas({
      rateLimitStore: 'redis',
      redisUrl: REDIS_URL,
      rateLimitApi: 100,
    });
    cleanups.push(dropKeys(prefix));
    const token = `secret-${randomBytes(8).toString('hex')}`;
    await tokenLimitShared(a, b, token);
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys.join('\n')).not.toContain(token);
    expect(keys).toContain(`${prefix}:token:proxy:${sha256(token)}`);
  });
});
