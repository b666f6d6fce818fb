import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { issueKey } from '../src/apikeys/index.ts';
import type { User } from '../src/db/index.ts';
import { type FakeProvider, startFakeProvider } from './fakes/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { providerFor, seedLink } from './kit/providers.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { asUser, testAuthenticator } from './kit/test-auth.ts';

// Linking, listing, fetching and unlinking over HTTP, against fake GitHub/GitLab/OIDC
// providers, as a browser and an agent would use them.

const db = useTestDatabase();
let kit: StoreKit;
let github: FakeProvider;
let gitlab: FakeProvider;
let okta: FakeProvider;
let a: TestServer;
let b: TestServer;
let user: User;

beforeAll(async () => {
  kit = storeKit(db.url);
  github = await startFakeProvider({ flavour: 'github' });
  gitlab = await startFakeProvider({ flavour: 'gitlab' });
  okta = await startFakeProvider({ flavour: 'oidc' });
  const config = {
    rateLimitApi: 0,
    externalAuth: [
      providerFor(github, { extraTokenKeys: ['scope'] }),
      providerFor(gitlab, { authUrlParams: { audience: 'https://api.example.com' } }),
      providerFor(okta, { id: 'okta' }),
    ],
  };
  a = await startTestServer(db.url, { authenticate: testAuthenticator(kit), config });
  b = await startTestServer(db.url, { authenticate: testAuthenticator(kit), config });
});
afterAll(async () => {
  await a.close();
  await b.close();
  await Promise.all([github.close(), gitlab.close(), okta.close()]);
  await kit.close();
});

let n = 0;
beforeEach(async () => {
  user = await kit.user(`linker${++n}`);
});

const get = (server: TestServer, path: string, who: User = user, init: RequestInit = {}) =>
  server.request(path, { ...init, headers: { ...asUser(who), ...(init.headers as Record<string, string>) } });

/** Runs the browser part of linking: Latchkey → provider → callback → return path. */
async function link(
  server: TestServer,
  provider: string,
  who: User = user,
  returnTo = '/settings/external-auth',
) {
  const start = await get(
    server,
    `/external-auth/${provider}/link?return_to=${encodeURIComponent(returnTo)}`,
    who,
    {
      redirect: 'manual',
    },
  );
  expect(start.status).toBe(302);
  const authorize = start.headers.get('location') as string;
  const upstream = await fetch(authorize, { redirect: 'manual' });
  expect(upstream.status).toBe(302);
  const callback = new URL(upstream.headers.get('location') as string);
  // The provider sends the browser to the access URL's callback; we play the browser.
  expect(callback.pathname).toBe(`/external-auth/${provider}/callback`);
  const done = await get(server, `${callback.pathname}${callback.search}`, who, { redirect: 'manual' });
  return { authorize: new URL(authorize), callback, done };
}

describe('linking', () => {
  it('links GitHub with state and PKCE, then hands the token to the user on either replica', async () => {
    const { authorize, done } = await link(a, 'github');
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/settings/external-auth');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('state')?.length).toBeGreaterThanOrEqual(43);
    const res = await get(b, '/api/v1/external-auth/github/token');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; extra: Record<string, string> };
    expect(body.access_token).toMatch(/^gh/);
    // EXTRA_TOKEN_KEYS are copied from the token response.
    expect(body.extra.scope).toBeDefined();
  });

  it('passes AUTH_URL_PARAMS through to the provider (Auth0 audience)', async () => {
    const { authorize, done } = await link(a, 'gitlab');
    expect(done.status).toBe(303);
    expect(authorize.searchParams.get('audience')).toBe('https://api.example.com');
    expect((await get(a, '/api/v1/external-auth/gitlab/token')).status).toBe(200);
  });

  it('links an OIDC provider found by discovery', async () => {
    const { authorize, done } = await link(a, 'okta');
    expect(authorize.origin).toBe(new URL(okta.issuer).origin);
    expect(done.status).toBe(303);
    expect((await get(a, '/api/v1/external-auth/okta/token')).status).toBe(200);
  });

  it('refuses a callback with another user\u2019s state, and burns that state', async () => {
    const mallory = await kit.user(`mallory${n}`);
    const start = await get(a, '/external-auth/github/link', mallory, { redirect: 'manual' });
    const upstream = await fetch(start.headers.get('location') as string, { redirect: 'manual' });
    const callback = new URL(upstream.headers.get('location') as string);
    // Mallory tricks our user into opening her callback (login CSRF): refused.
    const victim = await get(a, `${callback.pathname}${callback.search}`, user, { redirect: 'manual' });
    expect(victim.status).toBe(400);
    expect(await victim.json()).toMatchObject({ code: 'invalid_state' });
    // ...and the state is gone for Mallory too.
    const replay = await get(a, `${callback.pathname}${callback.search}`, mallory, { redirect: 'manual' });
    expect(replay.status).toBe(400);
    expect((await get(a, '/api/v1/external-auth/github/token')).status).toBe(404);
  });

  it('refuses a missing or unknown state and an upstream denial', async () => {
    const none = await get(a, '/external-auth/github/callback?code=x', user, { redirect: 'manual' });
    expect(none.status).toBe(400);
    const unknown = await get(a, '/external-auth/github/callback?code=x&state=nope', user, {
      redirect: 'manual',
    });
    expect(await unknown.json()).toMatchObject({ code: 'invalid_state' });
    const start = await get(a, '/external-auth/github/link', user, { redirect: 'manual' });
    const state = new URL(start.headers.get('location') as string).searchParams.get('state') as string;
    const denied = await get(a, `/external-auth/github/callback?error=access_denied&state=${state}`, user, {
      redirect: 'manual',
    });
    expect(denied.status).toBe(400);
    expect(await denied.json()).toMatchObject({ code: 'denied' });
  });

  it('only returns to same-origin paths', async () => {
    const { done } = await link(a, 'github', user, 'https://evil.example/steal');
    expect(done.headers.get('location')).toBe('/');
  });

  it('sends a visitor without a session to sign in first, then back', async () => {
    const res = await a.request('/external-auth/github/link', { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(
      `/login?redirect=${encodeURIComponent('/external-auth/github/link')}`,
    );
  });
});

describe('the token endpoint for agents', () => {
  it('answers 404 not_linked with the URL to link at, and 404 for an unknown provider', async () => {
    const res = await get(a, '/api/v1/external-auth/github/token');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({
      code: 'not_linked',
      link_url: 'http://127.0.0.1:3000/external-auth/github/link',
    });
    const unknown = await get(a, '/api/v1/external-auth/bitbucket/token');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'provider_not_found' });
  });

  it('requires a caller', async () => {
    const res = await a.request('/api/v1/external-auth/github/token');
    expect(res.status).toBe(401);
  });

  it('?wait=true returns as soon as the user links, on another replica', async () => {
    const waiting = get(a, '/api/v1/external-auth/github/token?wait=true');
    // Linking on replica b wakes the poll on replica a (LISTEN/NOTIFY), no polling loop.
    const { done } = await link(b, 'github');
    expect(done.status).toBe(303);
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { access_token: string }).access_token).toBeTruthy();
  });

  it('rejects a bad wait parameter with a 400', async () => {
    expect((await get(a, '/api/v1/external-auth/github/token?wait=soon')).status).toBe(400);
  });

  it('an API key limited by its allow-list gets only that provider', async () => {
    await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3_600_000 });
    await seedLink(kit.raw, gitlab, { userId: user.id, expiresInMs: 3_600_000 });
    const { token } = await issueKey(kit.raw, {
      userId: user.id,
      name: `only-gitlab-${n}`,
      loginType: 'token',
      scopes: ['latchkey:all'],
      allowList: ['external_auth_link:gitlab'],
      lifetimeMs: 3_600_000,
      now: new Date(),
    });
    const bearer = { authorization: `Bearer ${token}` };
    expect((await a.request('/api/v1/external-auth/gitlab/token', { headers: bearer })).status).toBe(200);
    expect((await a.request('/api/v1/external-auth/github/token', { headers: bearer })).status).toBe(404);
  });

  it('another user never gets my token', async () => {
    await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3_600_000 });
    const other = await kit.user(`other${n}`);
    const res = await get(a, '/api/v1/external-auth/github/token', other);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'not_linked' });
  });
});

describe('listing and unlinking', () => {
  it('lists every provider with the caller\u2019s link state and failure reason', async () => {
    await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3_600_000 });
    await seedLink(kit.raw, gitlab, { userId: user.id, expiresInMs: -1000 });
    gitlab.revokeAll(gitlab.users[0]?.login as string);
    expect((await get(a, '/api/v1/external-auth/gitlab/token')).status).toBe(409);
    const res = await get(a, '/api/v1/external-auth');
    expect(res.status).toBe(200);
    const { providers } = (await res.json()) as {
      providers: Array<{ id: string; linked: boolean; failure_reason: string | null; link_url: string }>;
    };
    expect(providers.map((p) => [p.id, p.linked, p.failure_reason])).toEqual([
      ['github', true, null],
      ['gitlab', true, 'invalid_grant'],
      ['okta', false, null],
    ]);
  });

  it('unlinks and revokes the token upstream', async () => {
    const seeded = await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3_600_000 });
    const res = await get(a, '/api/v1/external-auth/github', user, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(github.revokedTokens).toContain(seeded.accessToken);
    expect((await get(a, '/api/v1/external-auth/github/token')).status).toBe(404);
  });

  it('unlinks even when the provider fails to revoke, and says so in the log', async () => {
    await seedLink(kit.raw, gitlab, { userId: user.id, expiresInMs: 3_600_000 });
    gitlab.failNext('revoke', { status: 500 });
    const res = await get(a, '/api/v1/external-auth/gitlab', user, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(await kit.raw.getExternalAuthLink({ userId: user.id, providerId: 'gitlab' })).toBeUndefined();
    await a.logs.waitFor((line) => line.msg?.includes('revocation failed') === true);
  });

  it('unlinking what is not linked is a 404', async () => {
    expect((await get(a, '/api/v1/external-auth/github', user, { method: 'DELETE' })).status).toBe(404);
  });
});
