import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import { type FakeProvider, startFakeProvider } from './fakes/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { providerFor, seedLink } from './kit/providers.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { asUser, testAuthenticator } from './kit/test-auth.ts';

// Handing out a fresh token is served from a per-replica cache of link rows (no query),
// and every change to a link reaches every replica's cache at once (NOTIFY).

const db = useTestDatabase();
let kit: StoreKit;
let github: FakeProvider;
let a: TestServer;
let b: TestServer;
let user: User;

beforeAll(async () => {
  kit = storeKit(db.url);
  github = await startFakeProvider({ flavour: 'github' });
  const config = { rateLimitApi: 0, externalAuth: [providerFor(github)] };
  a = await startTestServer(db.url, { authenticate: testAuthenticator(kit), config });
  b = await startTestServer(db.url, { authenticate: testAuthenticator(kit), config });
});
afterAll(async () => {
  await a.close();
  await b.close();
  await github.close();
  await kit.close();
});

let n = 0;
beforeEach(async () => {
  user = await kit.user(`cache${++n}`);
});

const tokenOf = (s: TestServer) => s.request('/api/v1/external-auth/github/token', { headers: asUser(user) });
const queries = async (s: TestServer) => (await s.metrics.dbQueries.get()).values[0]?.value ?? 0;

/** Resolves when `server` has dropped this user's GitHub link from its cache. */
function dropped(server: TestServer): Promise<void> {
  return new Promise((resolve) => {
    const off = server.links.onDrop((id) => {
      if (id === `${user.id}:github`) {
        off();
        resolve();
      }
    });
  });
}

it('a cached fresh token costs no database query', async () => {
  await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3_600_000 });
  expect((await tokenOf(a)).status).toBe(200);
  const before = await queries(a);
  for (let i = 0; i < 5; i++) expect((await tokenOf(a)).status).toBe(200);
  expect((await queries(a)) - before).toBe(0);
});

it('unlinking on one replica is seen by the other at once', async () => {
  await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3_600_000 });
  expect((await tokenOf(a)).status).toBe(200);
  const seen = dropped(a);
  expect(
    (await b.request('/api/v1/external-auth/github', { method: 'DELETE', headers: asUser(user) })).status,
  ).toBe(204);
  await seen;
  expect((await tokenOf(a)).status).toBe(404);
});

it('a refresh on one replica replaces the cached row on the other', async () => {
  await seedLink(kit.raw, github, { userId: user.id, expiresInMs: -1000 });
  const seen = dropped(a);
  const refreshed = (await (await tokenOf(b)).json()) as { access_token: string };
  await seen;
  const res = (await (await tokenOf(a)).json()) as { access_token: string };
  expect(res.access_token).toBe(refreshed.access_token);
});

it('a permanent failure recorded on one replica is answered by the other without the provider', async () => {
  await seedLink(kit.raw, github, { userId: user.id, expiresInMs: -1000 });
  // Replica a caches the (expired) row first.
  github.failNext('refresh', { status: 502, times: 4 });
  expect((await tokenOf(a)).status).toBe(503);
  github.revokeAll(github.users[0]?.login as string);
  const seen = dropped(a);
  expect((await tokenOf(b)).status).toBe(409);
  await seen;
  const calls = github.stats.refreshCalls;
  expect((await tokenOf(a)).status).toBe(409);
  expect(github.stats.refreshCalls).toBe(calls);
});
