import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import { type FakeFault, type FakeProvider, startFakeProvider } from './fakes/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { linksChangedBehindTheirBacks, providerFor, seedLink } from './kit/providers.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { TcpProxy } from './kit/tcp-proxy.ts';
import { asUser, testAuthenticator } from './kit/test-auth.ts';

// EA-8 (what a provider's answer to "does this token work?" means), and the refresh edge
// cases around it: rate limits are not revocations, outages are not revocations, and a
// malformed answer or a database failure never costs the user their link.

const db = useTestDatabase();
let kit: StoreKit;
let github: FakeProvider;
let server: TestServer;
let user: User;

beforeAll(async () => {
  kit = storeKit(db.url);
  github = await startFakeProvider({ flavour: 'github' });
  server = await startTestServer(db.url, {
    authenticate: testAuthenticator(kit),
    config: {
      rateLimitApi: 0,
      externalAuth: [providerFor(github), providerFor(github, { id: 'github-norefresh', noRefresh: true })],
    },
  });
});
afterAll(async () => {
  await server.close();
  await github.close();
  await kit.close();
});

let n = 0;
beforeEach(async () => {
  user = await kit.user(`val${++n}`);
});

const tokenOf = (s: TestServer = server, provider = 'github') =>
  s.request(`/api/v1/external-auth/${provider}/token`, { headers: asUser(user) });
const stored = (provider = 'github') =>
  kit.raw.getExternalAuthLink({ userId: user.id, providerId: provider });

describe('validating a token that does not expire (EA-8)', () => {
  const cases: Array<[string, FakeFault, number]> = [
    [
      '401, even with rate-limit headers, is invalid',
      { status: 401, headers: { 'X-RateLimit-Remaining': '0' } },
      409,
    ],
    [
      '403 with X-RateLimit-Remaining: 0 is rate limiting: valid',
      { status: 403, headers: { 'X-RateLimit-Remaining': '0' } },
      200,
    ],
    ['403 with Retry-After is rate limiting: valid', { status: 403, headers: { 'retry-after': '60' } }, 200],
    [
      '403 with requests remaining is invalid',
      { status: 403, headers: { 'X-RateLimit-Remaining': '17' } },
      409,
    ],
    [
      '403 with an empty remaining count is invalid',
      { status: 403, headers: { 'X-RateLimit-Remaining': '' } },
      409,
    ],
    ['429 is valid', { status: 429, headers: { 'retry-after': '1' } }, 200],
    ['a 500 is an error, not invalid: the token is handed out', { status: 500 }, 200],
    ['a cut connection is an error, not invalid', { network: true }, 200],
  ];
  it.each(cases)('%s', async (_name, fault, status) => {
    const seeded = await seedLink(kit.raw, github, { userId: user.id, expiresInMs: null });
    github.failNext('validate', fault);
    const res = await tokenOf();
    expect(res.status).toBe(status);
    if (status === 200)
      expect(((await res.json()) as { access_token: string }).access_token).toBe(seeded.accessToken);
    else expect(await res.json()).toMatchObject({ code: 'relink_required' });
    // Validation never changes what is stored: only the user re-linking does.
    expect(await stored()).toMatchObject({
      oauth_access_token: seeded.accessToken,
      oauth_refresh_failure_reason: '',
    });
  });

  it('a token that validates is not validated again on every call', async () => {
    await seedLink(kit.raw, github, { userId: user.id, expiresInMs: null });
    const before = github.stats.validateCalls;
    for (let i = 0; i < 3; i++) expect((await tokenOf()).status).toBe(200);
    expect(github.stats.validateCalls - before).toBe(1);
  });

  it('rate-limited validations log one warning per interval, counting the rest', async () => {
    const warnings = () =>
      server.logs.records.filter((r) => r.msg?.startsWith('provider rate-limited')).length;
    const before = warnings();
    for (let i = 0; i < 3; i++) {
      user = await kit.user(`val${++n}`);
      await seedLink(kit.raw, github, { userId: user.id, expiresInMs: null });
      github.failNext('validate', { status: 429 });
      expect((await tokenOf()).status).toBe(200);
    }
    expect(warnings() - before).toBeLessThanOrEqual(1);
  });
});

describe('refresh edge cases', () => {
  it('a refreshed token whose validation is rate-limited is kept and returned', async () => {
    await seedLink(kit.raw, github, { userId: user.id, expiresInMs: -1000 });
    github.failNext('validate', { status: 403, headers: { 'X-RateLimit-Remaining': '0' } });
    const res = await tokenOf();
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    expect(await stored()).toMatchObject({
      oauth_access_token: access_token,
      oauth_refresh_failure_reason: '',
    });
  });

  it.each([
    ['not JSON', { status: 200, body: 'this is not a token response' }],
    ['JSON without access_token', { status: 200, body: { token_type: 'bearer' } }],
    ['a 404', { status: 404, body: { message: 'Not Found' } }],
  ])('a malformed token response (%s) is a 502 and leaves the link untouched', async (_name, fault) => {
    const seeded = await seedLink(kit.raw, github, { userId: user.id, expiresInMs: -1000 });
    github.failNext('refresh', fault);
    const res = await tokenOf();
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ code: 'upstream_error' });
    expect(await stored()).toMatchObject({
      oauth_refresh_token: seeded.refreshToken,
      oauth_refresh_failure_reason: '',
    });
  });

  it('invalid_client is recorded once, no more upstream calls, and re-linking clears it', async () => {
    await seedLink(kit.raw, github, { userId: user.id, expiresInMs: -1000 });
    github.failNext('refresh', { status: 401, body: { error: 'invalid_client' } });
    expect((await tokenOf()).status).toBe(409);
    expect(await stored()).toMatchObject({
      oauth_refresh_failure_reason: 'invalid_client',
      oauth_refresh_token: '',
    });
    const calls = github.stats.refreshCalls;
    expect((await tokenOf()).status).toBe(409);
    expect((await tokenOf()).status).toBe(409);
    expect(github.stats.refreshCalls).toBe(calls);
    // Linking again starts over.
    await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3_600_000 });
    await linksChangedBehindTheirBacks(kit, [server]);
    expect(await stored()).toMatchObject({ oauth_refresh_failure_reason: '' });
    expect((await tokenOf()).status).toBe(200);
  });

  it('NO_REFRESH: an expired token fails at once without contacting the provider', async () => {
    await seedLink(kit.raw, github, { userId: user.id, providerId: 'github-norefresh', expiresInMs: -1000 });
    const calls = github.stats.tokenCalls;
    const res = await tokenOf(server, 'github-norefresh');
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'relink_required', detail: 'refresh_disabled' });
    expect(github.stats.tokenCalls).toBe(calls);
  });

  it('a database failure while saving the refreshed token is a 500, never "link again"', async () => {
    const u = new URL(db.url);
    const proxy = new TcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
    await proxy.start();
    const viaProxy = await startTestServer(proxy.urlFor(db.url), {
      authenticate: testAuthenticator(kit),
      config: { rateLimitApi: 0, externalAuth: [providerFor(github)] },
    });
    try {
      // Warm the caller's roles into the cache while the database is reachable.
      expect((await viaProxy.request('/api/v1/users/me', { headers: asUser(user) })).status).toBe(200);
      const seeded = await seedLink(kit.raw, github, { userId: user.id, expiresInMs: -1000 });
      const hold = github.holdRefreshes();
      const pending = tokenOf(viaProxy);
      await hold.arrived(1);
      await proxy.stop();
      hold.release();
      const res = await pending;
      expect(res.status).toBe(500);
      expect(await stored()).toMatchObject({
        oauth_refresh_token: seeded.refreshToken,
        oauth_refresh_failure_reason: '',
      });
    } finally {
      await proxy.start();
      await viaProxy.close();
      await proxy.stop();
    }
  });
});
