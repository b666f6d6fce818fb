import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/apikeys/index.ts';
import type { Config } from '../src/config/index.ts';
import { type FakeProvider, type FakeUser, startFakeProvider } from './fakes/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { freePort } from './kit/tcp-proxy.ts';

// Signing in with OIDC (AK-1) and what keeps such a session valid (AK-6), against a fake
// OIDC provider over real HTTP.

const db = useTestDatabase();
let kit: StoreKit;
let idp: FakeProvider;
let google: FakeProvider;
const servers: TestServer[] = [];

const people: Record<string, FakeUser> = {
  ada: { sub: 'sub-ada', login: 'ada', email: 'ada@corp.example', name: 'Ada', emailVerified: true },
  bob: { sub: 'sub-bob', login: 'bob', email: 'bob@corp.example', emailVerified: true },
  eve: { sub: 'sub-eve', login: 'eve', email: 'victim@corp.example', emailVerified: false },
  sam: { sub: 'sub-sam', login: 'sam', email: 'sam@corp.example', emailVerified: true },
  cat: { sub: 'sub-cat', login: 'cat', email: 'cat@corp.example', emailVerified: true },
  ivy: { sub: 'sub-ivy', login: 'ivy', email: 'ivy@corp.example', emailVerified: true },
  max: { sub: 'sub-max', login: 'max', email: 'max@corp.example', emailVerified: true },
};

async function server(provider: FakeProvider | undefined, config: Partial<Config> = {}): Promise<TestServer> {
  // The access URL must be the server's own: the provider redirects the browser back to it.
  const port = await freePort();
  const s = await startTestServer(db.url, {
    config: {
      httpAddress: { host: '127.0.0.1', port },
      accessUrl: `http://127.0.0.1:${port}`,
      rateLimitApi: 0,
      disableSessionExpiryRefresh: true,
      ...(provider
        ? {
            oidcIssuerUrl: provider.issuer,
            oidcClientId: provider.clientId,
            oidcClientSecret: provider.clientSecret,
            oidcScopes: ['openid', 'profile', 'email', 'offline_access'],
          }
        : {}),
      ...config,
    },
  });
  servers.push(s);
  return s;
}

let main: TestServer;

beforeAll(async () => {
  kit = storeKit(db.url);
  idp = await startFakeProvider({ flavour: 'oidc', users: Object.values(people) });
  google = await startFakeProvider({
    flavour: 'oidc',
    users: Object.values(people),
    issueRefreshTokens: false,
  });
  main = await server(idp);
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await idp.close();
  await google.close();
  await kit.close();
});

/** Plays the browser: Latchkey → provider → callback, carrying the flow cookie. */
async function signIn(
  s: TestServer,
  provider: FakeProvider,
  who: FakeUser,
  redirect = '/settings/external-auth',
) {
  provider.nextLogin(who);
  const start = await s.request(`/login/oidc?redirect=${encodeURIComponent(redirect)}`, {
    redirect: 'manual',
  });
  expect(start.status).toBe(302);
  const flowCookie = (start.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const authorize = new URL(start.headers.get('location') as string);
  const upstream = await fetch(authorize, { redirect: 'manual' });
  const callback = new URL(upstream.headers.get('location') as string);
  const done = await s.request(`${callback.pathname}${callback.search}`, {
    redirect: 'manual',
    headers: { cookie: flowCookie },
  });
  const session = /latchkey_session=([^;]+)/.exec(done.headers.getSetCookie().join('\n'))?.[1];
  return { authorize, done, session, flowCookie, callback };
}

const me = (s: TestServer, session: string) =>
  s.request('/api/v1/users/me', { headers: { 'latchkey-session-token': session } });

async function expireLink(username: string) {
  const user = await kit.raw.getUserByUsername({ username });
  await kit.handle.db
    .updateTable('oidc_links')
    .set({ oauth_expiry: new Date(Date.now() - 1000) })
    .where('user_id', '=', user?.id as string)
    .execute();
  return user?.id as string;
}

describe('signing in', () => {
  it('creates the user at first sign-in, with PKCE, state and nonce, and returns to the page asked for', async () => {
    const { authorize, done, session } = await signIn(main, idp, people.ada as FakeUser);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('nonce')).toBeTruthy();
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/settings/external-auth');
    const res = await me(main, session as string);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ username: 'ada', email: 'ada@corp.example' });
    const user = await kit.raw.getUserByUsername({ username: 'ada' });
    expect(user?.login_type).toBe('oidc');
    const link = await kit.raw.getOidcLinkByUser({ userId: user?.id as string });
    expect(link).toMatchObject({
      subject: 'sub-ada',
      claims: { email: 'ada@corp.example', email_verified: true, username: 'ada', name: 'Ada', groups: [] },
    });
    expect(link?.oauth_refresh_token).not.toBe('');
  });

  it('signing in again finds the same user by subject', async () => {
    const before = await kit.raw.listUsers({ includeSystem: true, limit: 1000 });
    const { session } = await signIn(main, idp, people.ada as FakeUser);
    expect((await me(main, session as string)).status).toBe(200);
    expect(await kit.raw.listUsers({ includeSystem: true, limit: 1000 })).toHaveLength(before.length);
  });

  it('links an existing user by a verified email', async () => {
    await kit.raw.insertUser({
      email: 'bob@corp.example',
      username: 'robert',
      hashedPassword: await hashPassword('pw'),
    });
    const { session } = await signIn(main, idp, people.bob as FakeUser);
    expect(await (await me(main, session as string)).json()).toMatchObject({ username: 'robert' });
  });

  it('refuses an unverified email that matches an existing account (account takeover)', async () => {
    await kit.raw.insertUser({ email: 'victim@corp.example', username: 'victim' });
    const { done, session } = await signIn(main, idp, people.eve as FakeUser);
    expect(done.status).toBe(409);
    expect(session).toBeUndefined();
  });

  it('refuses a suspended user', async () => {
    const user = await kit.raw.insertUser({ email: 'sam@corp.example', username: 'sam' });
    await kit.raw.updateUserStatus({ id: user.id, status: 'suspended' });
    const { done, session } = await signIn(main, idp, people.sam as FakeUser);
    expect(done.status).toBe(403);
    expect(session).toBeUndefined();
  });

  it('without sign-ups, only existing users may sign in', async () => {
    const closed = await server(idp, { oidcAllowSignups: false });
    const { done, session } = await signIn(closed, idp, people.cat as FakeUser);
    expect(done.status).toBe(403);
    expect(session).toBeUndefined();
    expect(await kit.raw.getUserByUsername({ username: 'cat' })).toBeUndefined();
  });

  it('refuses a callback without the flow cookie or with another state', async () => {
    const { callback, flowCookie } = await signIn(main, idp, people.ada as FakeUser);
    // Replaying the callback in a browser that did not start the flow (login CSRF):
    const noCookie = await main.request(`${callback.pathname}${callback.search}`, { redirect: 'manual' });
    expect(noCookie.status).toBe(400);
    const tampered = new URLSearchParams(callback.search);
    tampered.set('state', 'forged');
    const wrongState = await main.request(`${callback.pathname}?${tampered}`, {
      redirect: 'manual',
      headers: { cookie: flowCookie },
    });
    expect(wrongState.status).toBe(400);
    expect(wrongState.headers.getSetCookie().join('\n')).not.toContain('latchkey_session=lk_');
  });

  it('passes configured authorize-URL parameters through (Google offline access)', async () => {
    const google = await server(idp, { oidcAuthUrlParams: { access_type: 'offline', prompt: 'consent' } });
    const { authorize } = await signIn(google, idp, people.ada as FakeUser);
    expect(authorize.searchParams.get('access_type')).toBe('offline');
    expect(authorize.searchParams.get('prompt')).toBe('consent');
  });

  it('the login page offers the OIDC button only when configured', async () => {
    expect(await (await main.request('/login')).text()).toContain('Sign in with OpenID Connect');
    const plain = await server(undefined);
    expect(await (await plain.request('/login')).text()).not.toContain('/login/oidc');
    expect((await plain.request('/login/oidc', { redirect: 'manual' })).status).toBe(404);
  });
});

describe('keeping an OIDC session valid (AK-6)', () => {
  it('an expired link is refreshed exactly once for 20 concurrent requests, and the key is not extended', async () => {
    const { session } = await signIn(main, idp, people.ivy as FakeUser);
    const userId = await expireLink('ivy');
    const key = (await kit.raw.listApiKeysOfUser({ userId }))[0];
    const before = idp.stats.successfulRefreshes;
    const answers = await Promise.all(Array.from({ length: 20 }, () => me(main, session as string)));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(idp.stats.successfulRefreshes - before).toBe(1);
    const link = await kit.raw.getOidcLinkByUser({ userId });
    expect(link?.oauth_expiry?.getTime()).toBeGreaterThan(Date.now());
    // Refreshing the link never extends the session key.
    expect((await kit.raw.getApiKeyById({ id: key?.id as string }))?.expires_at).toEqual(key?.expires_at);
  });

  it('a link the provider no longer refreshes ends the session: 401, not 500', async () => {
    const { session } = await signIn(main, idp, people.max as FakeUser);
    await expireLink('max');
    idp.revokeAll(people.max as FakeUser);
    const res = await me(main, session as string);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('a provider without refresh tokens is not refreshed: the session runs to its own expiry', async () => {
    const viaGoogle = await server(google);
    const { session } = await signIn(viaGoogle, google, people.cat as FakeUser);
    await expireLink('cat');
    const calls = google.stats.tokenCalls;
    expect((await me(viaGoogle, session as string)).status).toBe(200);
    expect(google.stats.tokenCalls).toBe(calls);
  });

  it('with the provider removed from configuration, sessions go on and nothing is refreshed', async () => {
    const { session } = await signIn(main, idp, people.bob as FakeUser);
    await expireLink('robert');
    const without = await server(undefined);
    const calls = idp.stats.tokenCalls;
    expect((await me(without, session as string)).status).toBe(200);
    expect(idp.stats.tokenCalls).toBe(calls);
  });
});
