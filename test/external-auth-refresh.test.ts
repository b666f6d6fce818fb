import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import { DEFAULT_REFRESH_TIMING } from '../src/externalauth/index.ts';
import { type FakeProvider, startFakeProvider } from './fakes/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { linksChangedBehindTheirBacks, providerFor, seedLink } from './kit/providers.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { asUser, testAuthenticator } from './kit/test-auth.ts';

// The vault's central promise (EA-3…EA-7): an upstream refresh token is spent exactly once
// per expiry, however many callers on however many replicas ask at once, and no failure —
// a lost race, an outage, a caller that gives up — ever destroys a working link.

const db = useTestDatabase();
// A transient fault queued this many times outlasts every retry of one refresh call.
const ATTEMPTS = DEFAULT_REFRESH_TIMING.maxAttempts;
let kit: StoreKit;
let github: FakeProvider;
let gitlab: FakeProvider;
let a: TestServer;
let b: TestServer;
let c: TestServer;
let user: User;

beforeAll(async () => {
  kit = storeKit(db.url);
  github = await startFakeProvider({ flavour: 'github' });
  gitlab = await startFakeProvider({ flavour: 'gitlab' });
  const config = {
    rateLimitApi: 0,
    externalAuth: [providerFor(github), providerFor(gitlab)],
  };
  a = await startTestServer(db.url, { authenticate: testAuthenticator(kit), config });
  b = await startTestServer(db.url, { authenticate: testAuthenticator(kit), config });
  c = await startTestServer(db.url, { authenticate: testAuthenticator(kit), config });
});
afterAll(async () => {
  await a.close();
  await b.close();
  await c.close();
  await github.close();
  await gitlab.close();
  await kit.close();
});

let n = 0;
beforeEach(async () => {
  user = await kit.user(`dev${++n}`);
});

const tokenOf = (server: TestServer, provider = 'github', who: User = user) =>
  server.request(`/api/v1/external-auth/${provider}/token`, { headers: asUser(who) });

async function stored(provider = 'github') {
  return kit.raw.getExternalAuthLink({ userId: user.id, providerId: provider });
}

describe('exactly once', () => {
  // Repeated inside the test (20 expiries) so a rare interleaving shows up as a failure.
  it.each([
    ['50 callers on one server', 1, 50],
    ['150 callers on three servers', 3, 150],
  ])(
    '%s at each expiry: exactly one upstream refresh, everyone gets its token',
    async (_name, servers, callers) => {
      const replicas = [a, b, c].slice(0, servers);
      await seedLink(kit.raw, github, { userId: user.id, expiresInMs: -1000 });
      for (let round = 0; round < 20; round++) {
        const before = github.stats.successfulRefreshes;
        const calls = Array.from({ length: callers }, (_, i) => tokenOf(replicas[i % servers] as TestServer));
        const bodies = await Promise.all(
          calls.map(async (r) => {
            const res = await r;
            expect(res.status).toBe(200);
            return (await res.json()) as { access_token: string };
          }),
        );
        const tokens = new Set(bodies.map((x) => x.access_token));
        expect(tokens.size).toBe(1);
        expect(github.stats.successfulRefreshes - before).toBe(1);
        const link = await stored();
        expect(link?.oauth_access_token).toBe([...tokens][0]);
        expect(link?.oauth_refresh_failure_reason).toBe('');
        // Expire it again for the next round, keeping the (single-use) refresh token.
        await kit.handle.db
          .updateTable('external_auth_links')
          .set({ oauth_expiry: new Date(Date.now() - 1000) })
          .where('user_id', '=', user.id)
          .execute();
        await linksChangedBehindTheirBacks(kit, [a, b, c]);
      }
      // Every refresh the provider saw succeeded: nobody ever spent a dead refresh token.
      expect(github.stats.refreshCalls).toBe(github.stats.successfulRefreshes);
    },
  );

  it('a fresh token is served without contacting the provider', async () => {
    const seeded = await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3_600_000 });
    const calls = github.stats.tokenCalls;
    const res = await tokenOf(a);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toMatchObject({ access_token: seeded.accessToken, token_type: 'Bearer' });
    expect(github.stats.tokenCalls).toBe(calls);
  });

  it('a loser that spent a token the winner already replaced returns the winner token and records nothing (EA-5)', async () => {
    const seeded = await seedLink(kit.raw, github, { userId: user.id, expiresInMs: -1000 });
    const hold = github.holdRefreshes();
    const ours = tokenOf(a);
    await hold.arrived(1);
    // Meanwhile a refresher that does not take our lock (an old replica, another tool)
    // spends the same refresh token first and saves its result.
    const winner = await fetch(github.tokenUrl, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: seeded.refreshToken,
        client_id: github.clientId,
        client_secret: github.clientSecret,
      }),
    });
    const won = (await winner.json()) as { access_token: string; refresh_token: string };
    expect(won.access_token).toBeTruthy();
    await kit.raw.updateExternalAuthLinkRefreshToken({
      userId: user.id,
      providerId: 'github',
      oldRefreshToken: seeded.refreshToken,
      tokens: {
        accessToken: won.access_token,
        refreshToken: won.refresh_token,
        expiry: new Date(Date.now() + 3_600_000),
        issuedAt: new Date(),
        extra: {},
      },
    });
    // Only now does our refresh reach the provider, with the token the winner spent.
    hold.release();
    const res = await ours;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { access_token: string }).access_token).toBe(won.access_token);
    expect(await stored()).toMatchObject({
      oauth_refresh_token: won.refresh_token,
      oauth_refresh_failure_reason: '',
    });
  });

  it('the refreshed token is saved even when the caller gives up mid-refresh (EA-4)', async () => {
    await seedLink(kit.raw, github, { userId: user.id, expiresInMs: -1000 });
    const hold = github.holdRefreshes();
    const gaveUp = new AbortController();
    const abandoned = a
      .request('/api/v1/external-auth/github/token', { headers: asUser(user), signal: gaveUp.signal })
      .catch((err: Error) => err.name);
    await hold.arrived(1);
    gaveUp.abort();
    expect(await abandoned).toBe('AbortError');
    const refreshes = github.stats.successfulRefreshes;
    hold.release();
    // The next caller joins the refresh still in flight or finds its saved result: either
    // way the provider is not asked again and the new token is what comes back.
    const res = await tokenOf(a);
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    expect(github.stats.successfulRefreshes).toBe(refreshes + 1);
    expect((await stored())?.oauth_access_token).toBe(access_token);
  });
});

describe('failures', () => {
  it('a link cleared while its refresh is in flight (dbcrypt delete) is never handed out empty', async () => {
    await seedLink(kit.raw, github, { userId: user.id, expiresInMs: -1000 });
    const hold = github.holdRefreshes();
    const pending = tokenOf(a);
    await hold.arrived(1);
    await kit.handle.db
      .updateTable('external_auth_links')
      .set({
        oauth_access_token: '',
        oauth_refresh_token: '',
        oauth_refresh_failure_reason: 'encryption_key_deleted',
      })
      .where('user_id', '=', user.id)
      .execute();
    hold.release();
    const res = await pending;
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'relink_required', detail: 'encryption_key_deleted' });
  });

  it('a permanent failure is recorded once and later calls fail without the provider (EA-6)', async () => {
    await seedLink(kit.raw, github, { userId: user.id, expiresInMs: -1000 });
    github.revokeAll(github.users[0]?.login as string);
    const res = await tokenOf(a);
    expect(res.status).toBe(409);
    const body = (await res.json()) as { code: string; detail: string; link_url: string };
    expect(body).toMatchObject({ code: 'relink_required', detail: 'bad_refresh_token' });
    expect(body.link_url).toMatch(/\/external-auth\/github\/link$/);
    expect(await stored()).toMatchObject({
      oauth_refresh_token: '',
      oauth_refresh_failure_reason: 'bad_refresh_token',
    });
    const calls = github.stats.refreshCalls;
    const again = await tokenOf(b);
    expect(again.status).toBe(409);
    expect(github.stats.refreshCalls).toBe(calls);
  });

  it('GitLab invalid_grant (a 400) is permanent too', async () => {
    await seedLink(kit.raw, gitlab, { userId: user.id, expiresInMs: -1000 });
    gitlab.revokeAll(gitlab.users[0]?.login as string);
    const res = await tokenOf(a, 'gitlab');
    expect(res.status).toBe(409);
    expect(await stored('gitlab')).toMatchObject({ oauth_refresh_failure_reason: 'invalid_grant' });
  });

  it.each([
    ['a 502', { status: 502, times: ATTEMPTS }],
    ['a 403 from the token endpoint', { status: 403, body: { message: 'abuse detection' }, times: ATTEMPTS }],
    ['network errors', { network: true as const, times: ATTEMPTS }],
  ])(
    '%s is transient: 503, nothing recorded, and the link still refreshes afterwards',
    async (_name, fault) => {
      const seeded = await seedLink(kit.raw, github, { userId: user.id, expiresInMs: -1000 });
      github.failNext('refresh', fault);
      const res = await tokenOf(a);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBeTruthy();
      expect(await res.json()).toMatchObject({ code: 'upstream_unavailable' });
      expect(await stored()).toMatchObject({
        oauth_refresh_token: seeded.refreshToken,
        oauth_refresh_failure_reason: '',
      });
      // The outage is over: the same link refreshes normally.
      expect((await tokenOf(a)).status).toBe(200);
    },
  );

  it('retries a 429 within the call and succeeds', async () => {
    await seedLink(kit.raw, github, { userId: user.id, expiresInMs: -1000 });
    const calls = github.stats.refreshCalls;
    github.failNext('refresh', { status: 429, headers: { 'retry-after': '0' } });
    const res = await tokenOf(a);
    expect(res.status).toBe(200);
    expect(github.stats.refreshCalls).toBe(calls + 2);
  });

  it('an outage inside the refresh window still hands out the unexpired token', async () => {
    // Expires in 30 s: inside the 2-minute refresh lead, so a refresh is attempted.
    const seeded = await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 30_000 });
    github.failNext('refresh', { status: 500, times: ATTEMPTS });
    const res = await tokenOf(a);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { access_token: string }).access_token).toBe(seeded.accessToken);
  });

  it('a link without a refresh token is not refreshed once expired: the user links again', async () => {
    await kit.raw.upsertExternalAuthLink({
      userId: user.id,
      providerId: 'github',
      tokens: {
        accessToken: 'no-refresh',
        refreshToken: '',
        expiry: new Date(Date.now() - 1000),
        issuedAt: new Date(Date.now() - 3_600_000),
        extra: {},
      },
    });
    const calls = github.stats.refreshCalls;
    const res = await tokenOf(a);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'relink_required', detail: 'expired' });
    expect(github.stats.refreshCalls).toBe(calls);
  });
});
