import { createHash, randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeFlavour, type FakeProvider, type FakeProviderOptions, startFakeProvider } from './index.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const open: FakeProvider[] = [];
afterEach(async () => {
  for (const fake of open.splice(0)) await fake.close();
});

/** A clock the test moves by hand. */
function manualClock(start = Date.UTC(2030, 0, 1)) {
  let now = start;
  return {
    now: () => now,
    advance(seconds: number) {
      now += seconds * 1000;
    },
  };
}

async function start(options: FakeProviderOptions): Promise<FakeProvider> {
  const fake = await startFakeProvider(options);
  open.push(fake);
  return fake;
}

interface Answer {
  status: number;
  contentType: string;
  body: Record<string, unknown>;
}

/** A token-endpoint POST with client_secret_post, asking for JSON. */
async function post(
  url: string,
  params: Record<string, string>,
  init: { accept?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: init.accept ?? 'application/json',
      ...init.headers,
    },
    body: new URLSearchParams(params),
  });
  const contentType = res.headers.get('content-type') ?? '';
  const text = await res.text();
  const body = contentType.startsWith('application/json')
    ? (JSON.parse(text) as Record<string, unknown>)
    : Object.fromEntries(new URLSearchParams(text));
  return { status: res.status, contentType, body };
}

function refresh(fake: FakeProvider, refreshToken: string): Promise<Answer> {
  return post(fake.tokenUrl, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: fake.clientId,
    client_secret: fake.clientSecret,
  });
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** Follows the non-interactive authorize redirect; returns the callback URL. */
async function authorize(fake: FakeProvider, params: Record<string, string>): Promise<URL> {
  const url = new URL(fake.authUrl);
  for (const [k, v] of Object.entries({ client_id: fake.clientId, response_type: 'code', ...params })) {
    url.searchParams.set(k, v);
  }
  const res = await fetch(url, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location') ?? '');
}

const refreshFailure = {
  github: {
    status: 200,
    body: {
      error: 'bad_refresh_token',
      error_description: 'The refresh token passed is incorrect or expired.',
      error_uri: expect.stringContaining('bad-refresh-token'),
    },
  },
  gitlab: { status: 400, body: { error: 'invalid_grant', error_description: expect.any(String) } },
  oidc: { status: 400, body: { error: 'invalid_grant', error_description: expect.any(String) } },
} as const;

describe.each(['github', 'gitlab', 'oidc'] as const satisfies FakeFlavour[])('%s flavour', (flavour) => {
  it('refresh tokens are single-use and rotate', async () => {
    const fake = await start({ flavour });
    const seeded = fake.mintTokens('octocat');
    expect(seeded.refresh_token).toBeDefined();
    const first = await refresh(fake, seeded.refresh_token ?? '');
    expect(first.status).toBe(200);
    expect(first.body.access_token).not.toBe(seeded.access_token);
    expect(first.body.refresh_token).not.toBe(seeded.refresh_token);
    expect(first.body.expires_in).toBe(flavour === 'github' ? 28_800 : 3600);
    if (flavour === 'github') expect(first.body.refresh_token_expires_in).toBe(15_811_200);
    if (flavour === 'oidc') expect(first.body.id_token).toEqual(expect.any(String));

    const again = await refresh(fake, seeded.refresh_token ?? '');
    expect(again).toMatchObject(refreshFailure[flavour]);
    expect(fake.stats).toMatchObject({ tokenCalls: 2, refreshCalls: 2, successfulRefreshes: 1 });

    const next = await refresh(fake, String(first.body.refresh_token));
    expect(next.status).toBe(200);
    expect(fake.stats.successfulRefreshes).toBe(2);
  });

  it('authorization code with PKCE: verifier checked, code single-use', async () => {
    const fake = await start({ flavour });
    const verifier = randomBytes(32).toString('base64url');
    const callback = await authorize(fake, {
      redirect_uri: REDIRECT_URI,
      state: 'st-1',
      scope: 'read',
      code_challenge: s256(verifier),
      code_challenge_method: 'S256',
      audience: 'https://api.example',
    });
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('state')).toBe('st-1');
    expect(fake.authorizeRequests.at(-1)?.get('audience')).toBe('https://api.example');
    const code = callback.searchParams.get('code') ?? '';
    const exchange = (codeVerifier: string) =>
      post(fake.tokenUrl, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: codeVerifier,
        client_id: fake.clientId,
        client_secret: fake.clientSecret,
      });

    const mismatch = await exchange('not-the-verifier-but-long-enough-to-look-real-0000');
    expect(mismatch).toMatchObject(
      flavour === 'github'
        ? { status: 200, body: { error: 'bad_verification_code' } }
        : { status: 400, body: { error: 'invalid_grant' } },
    );
    const ok = await exchange(verifier);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ access_token: expect.any(String), scope: 'read' });
    const replay = await exchange(verifier);
    expect(replay.body.error).toBe(flavour === 'github' ? 'bad_verification_code' : 'invalid_grant');
    // The replay revoked what the code issued.
    const user = await fetch(fake.validateUrl, {
      headers: { Authorization: `Bearer ${ok.body.access_token}` },
    });
    expect(user.status).toBe(401);
  });

  it('authorize refuses unknown clients and non-S256 challenges', async () => {
    const fake = await start({ flavour });
    const unknown = await fetch(`${fake.authUrl}?client_id=nope&redirect_uri=${REDIRECT_URI}`, {
      redirect: 'manual',
    });
    expect(unknown.status).toBe(400);
    const plain = await authorize(fake, {
      redirect_uri: REDIRECT_URI,
      state: 's',
      code_challenge: 'abc',
      code_challenge_method: 'plain',
    });
    expect(Object.fromEntries(plain.searchParams)).toMatchObject({ error: 'invalid_request', state: 's' });
    expect(fake.authorizeRequests).toHaveLength(2);
  });

  it('device flow: pending, slow_down, approved, spent, denied, expired', async () => {
    const clock = manualClock();
    const fake = await start({ flavour, now: clock.now });
    const started = await post(fake.deviceCodeUrl, { client_id: fake.clientId, scope: 'read' });
    expect(started.body).toMatchObject({
      interval: 5,
      expires_in: 900,
      user_code: expect.stringMatching(/^\w{4}-\w{4}$/),
    });
    const poll = () =>
      post(fake.tokenUrl, {
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: String(started.body.device_code),
        client_id: fake.clientId,
      });
    const errorStatus = flavour === 'github' ? 200 : 400;

    expect(await poll()).toMatchObject({ status: errorStatus, body: { error: 'authorization_pending' } });
    clock.advance(2);
    expect(await poll()).toMatchObject({ status: errorStatus, body: { error: 'slow_down' } });
    clock.advance(5); // the interval is now 10 s
    expect((await poll()).body).toMatchObject(
      flavour === 'github' ? { error: 'slow_down', interval: 15 } : { error: 'slow_down' },
    );
    clock.advance(15);
    expect((await poll()).body.error).toBe('authorization_pending');

    fake.approveDevice(String(started.body.user_code).toLowerCase());
    clock.advance(15);
    const approved = await poll();
    expect(approved).toMatchObject({
      status: 200,
      body: { access_token: expect.any(String), scope: 'read' },
    });
    clock.advance(15);
    expect((await poll()).body.error).toBe(flavour === 'github' ? 'incorrect_device_code' : 'invalid_grant');

    const denied = await post(fake.deviceCodeUrl, { client_id: fake.clientId });
    fake.denyDevice(String(denied.body.user_code));
    const refused = await post(fake.tokenUrl, {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: String(denied.body.device_code),
      client_id: fake.clientId,
    });
    expect(refused).toMatchObject({ status: errorStatus, body: { error: 'access_denied' } });

    const late = await post(fake.deviceCodeUrl, { client_id: fake.clientId });
    clock.advance(901);
    const expired = await post(fake.tokenUrl, {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: String(late.body.device_code),
      client_id: fake.clientId,
    });
    expect(expired).toMatchObject({ status: errorStatus, body: { error: 'expired_token' } });
  });

  it('holds concurrent refreshes and lets exactly one of them win', async () => {
    const fake = await start({ flavour });
    const { refresh_token: token = '' } = fake.mintTokens('octocat');
    const hold = fake.holdRefreshes();
    const answers = Promise.all(Array.from({ length: 50 }, () => refresh(fake, token)));
    await hold.arrived(50);
    expect(fake.stats).toMatchObject({ refreshCalls: 50, successfulRefreshes: 0 });
    hold.release();
    const results = await answers;
    expect(results.filter((r) => typeof r.body.access_token === 'string')).toHaveLength(1);
    expect(results.filter((r) => r.body.error !== undefined)).toHaveLength(49);
    expect(fake.stats.successfulRefreshes).toBe(1);
  });

  it('holds only as many refreshes as awaited: a later one overtakes the held one', async () => {
    const fake = await start({ flavour });
    const { refresh_token: token = '' } = fake.mintTokens('octocat');
    const hold = fake.holdRefreshes();
    const held = refresh(fake, token);
    await hold.arrived(1);
    const overtaking = await refresh(fake, token);
    expect(overtaking.status).toBe(200);
    hold.release();
    expect(await held).toMatchObject(refreshFailure[flavour]);
    // A new hold ends one left behind instead of stranding its requests.
    const stale = fake.holdRefreshes();
    const stranded = refresh(fake, String(overtaking.body.refresh_token));
    await stale.arrived(1);
    fake.holdRefreshes();
    expect((await stranded).status).toBe(200);
  });

  it('validates live tokens only; expiry follows the injected clock', async () => {
    const clock = manualClock();
    const fake = await start({ flavour, now: clock.now });
    const user = (token: string) =>
      fetch(fake.validateUrl, { headers: { Authorization: `Bearer ${token}` } });
    const a = fake.mintTokens('octocat');
    expect(await (await user(a.access_token)).json()).toMatchObject(
      flavour === 'github'
        ? { login: 'octocat', id: 1001 }
        : flavour === 'gitlab'
          ? { username: 'octocat', id: 1001 }
          : { sub: '1001', preferred_username: 'octocat', email_verified: true },
    );
    clock.advance(flavour === 'github' ? 28_800 : 3600);
    expect((await user(a.access_token)).status).toBe(401);

    const b = fake.mintTokens('octocat');
    fake.expireAccessToken(b.access_token);
    expect((await user(b.access_token)).status).toBe(401);
    expect((await refresh(fake, b.refresh_token ?? '')).status).toBe(200);

    const c = fake.mintTokens('octocat', { ttlSeconds: null });
    expect(c).not.toHaveProperty('expires_in');
    expect(c).not.toHaveProperty('refresh_token');
    fake.revokeAll('octocat');
    expect((await user(c.access_token)).status).toBe(401);
    expect(fake.stats.validateCalls).toBe(4);
  });

  it('revokes through the flavour’s revoke endpoint', async () => {
    const fake = await start({ flavour });
    const tokens = fake.mintTokens('octocat');
    const basic = `Basic ${Buffer.from(`${fake.clientId}:${fake.clientSecret}`).toString('base64')}`;
    const res =
      flavour === 'github'
        ? await fetch(fake.revokeUrl, {
            method: 'DELETE',
            headers: { Authorization: basic, 'Content-Type': 'application/json' },
            body: JSON.stringify({ access_token: tokens.access_token }),
          })
        : await fetch(fake.revokeUrl, {
            method: 'POST',
            headers: { Authorization: basic, 'Content-Type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ token: tokens.access_token }),
          });
    expect(res.status).toBe(flavour === 'github' ? 204 : 200);
    expect(fake.revokedTokens).toEqual([tokens.access_token]);
    expect(fake.stats.revokeCalls).toBe(1);
    // The whole grant dies: the refresh token too.
    expect(await refresh(fake, tokens.refresh_token ?? '')).toMatchObject(refreshFailure[flavour]);
  });

  it('rejects bad client credentials', async () => {
    const fake = await start({ flavour });
    const { refresh_token: token = '' } = fake.mintTokens('octocat');
    const wrong = `Basic ${Buffer.from(`${fake.clientId}:wrong`).toString('base64')}`;
    const answer = await post(
      fake.tokenUrl,
      { grant_type: 'refresh_token', refresh_token: token },
      { headers: { Authorization: wrong } },
    );
    expect(answer).toMatchObject(
      flavour === 'github'
        ? { status: 200, body: { error: 'incorrect_client_credentials' } }
        : { status: 401, body: { error: 'invalid_client' } },
    );
    const right = `Basic ${Buffer.from(`${fake.clientId}:${fake.clientSecret}`).toString('base64')}`;
    const ok = await post(
      fake.tokenUrl,
      { grant_type: 'refresh_token', refresh_token: token },
      { headers: { Authorization: right } },
    );
    expect(ok.status).toBe(200);
  });
});

describe('github flavour specifics', () => {
  it('answers form-urlencoded unless JSON is accepted', async () => {
    const fake = await start({ flavour: 'github' });
    const { refresh_token: token = '' } = fake.mintTokens('octocat');
    const form = await post(
      fake.tokenUrl,
      {
        grant_type: 'refresh_token',
        refresh_token: token,
        client_id: fake.clientId,
        client_secret: fake.clientSecret,
      },
      { accept: '*/*' },
    );
    expect(form.contentType).toMatch(/^application\/x-www-form-urlencoded/);
    expect(form.body).toMatchObject({ access_token: expect.stringMatching(/^ghu_/), token_type: 'bearer' });
    expect(form.body.expires_in).toBe('28800');
    const error = await post(
      fake.tokenUrl,
      {
        grant_type: 'refresh_token',
        refresh_token: token,
        client_id: fake.clientId,
        client_secret: fake.clientSecret,
      },
      { accept: '*/*' },
    );
    expect(error).toMatchObject({ status: 200, body: { error: 'bad_refresh_token' } });
    expect(error.contentType).toMatch(/^application\/x-www-form-urlencoded/);
    const json = await refresh(fake, String(form.body.refresh_token));
    expect(json.contentType).toMatch(/^application\/json/);
    expect(json.body.expires_in).toBe(28_800);
  });

  it('OAuth app tokens without expiry carry no refresh token', async () => {
    const fake = await start({ flavour: 'github', accessTokenTtlSeconds: null });
    const tokens = fake.mintTokens('octocat');
    expect(tokens.access_token).toMatch(/^gho_/);
    expect(tokens).not.toHaveProperty('refresh_token');
  });

  it('sends rate-limit headers, and queued faults replace the answer in order', async () => {
    const fake = await start({ flavour: 'github' });
    const { access_token: token } = fake.mintTokens('octocat');
    const user = () => fetch(fake.validateUrl, { headers: { Authorization: `token ${token}` } });

    const first = await user();
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('5000');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('4999');
    expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    expect(first.headers.get('x-oauth-scopes')).toBe('repo, read:user');
    expect((await user()).headers.get('x-ratelimit-remaining')).toBe('4998');

    fake.failNext('validate', { status: 403, headers: { 'X-RateLimit-Remaining': '0' } });
    fake.failNext('userinfo', { status: 403, body: { message: 'Resource not accessible by integration' } });
    fake.failNext('validate', { status: 429, headers: { 'Retry-After': '30' }, times: 2 });
    fake.failNext('validate', { status: 500 });
    fake.failNext('validate', { network: true });

    const limited = await user();
    expect([limited.status, limited.headers.get('x-ratelimit-remaining')]).toEqual([403, '0']);
    const forbidden = await user();
    expect(forbidden.status).toBe(403);
    expect(Number(forbidden.headers.get('x-ratelimit-remaining'))).toBeGreaterThan(0);
    expect(await forbidden.json()).toEqual({ message: 'Resource not accessible by integration' });
    for (let i = 0; i < 2; i++) {
      const tooMany = await user();
      expect([tooMany.status, tooMany.headers.get('retry-after')]).toEqual([429, '30']);
    }
    expect((await user()).status).toBe(500);
    await expect(user()).rejects.toThrow();
    expect((await user()).status).toBe(200);
    expect(fake.stats.validateCalls).toBe(9);
  });

  it('faults on refresh come before faults on the token endpoint', async () => {
    const fake = await start({ flavour: 'github' });
    const { refresh_token: token = '' } = fake.mintTokens('octocat');
    fake.failNext('token', { status: 502 });
    fake.failNext('refresh', { network: true });
    await expect(refresh(fake, token)).rejects.toThrow();
    expect((await refresh(fake, token)).status).toBe(502);
    expect((await refresh(fake, token)).status).toBe(200);
    expect(fake.stats).toMatchObject({ refreshCalls: 3, successfulRefreshes: 1 });
  });

  it('answers the token and validate endpoints after the configured latency', async () => {
    const latencyMs = 150;
    const fake = await start({ flavour: 'github', latencyMs });
    const { refresh_token: token = '' } = fake.mintTokens('octocat');
    const elapsed = async (call: () => Promise<{ status: number }>) => {
      const started = performance.now();
      const { status } = await call();
      return { status, ms: performance.now() - started };
    };
    const refreshed = await elapsed(() => refresh(fake, token));
    const validated = await elapsed(() =>
      fetch(fake.validateUrl, {
        headers: { authorization: `Bearer ${fake.mintTokens('octocat').access_token}` },
      }),
    );
    expect([refreshed.status, validated.status]).toEqual([200, 200]);
    // libuv timers count whole milliseconds from the loop's cached time: allow 1 ms.
    expect(refreshed.ms).toBeGreaterThanOrEqual(latencyMs - 1);
    expect(validated.ms).toBeGreaterThanOrEqual(latencyMs - 1);
  });
});

describe('oidc flavour with openid-client', () => {
  it('discovers, signs in with PKCE, state and nonce, reads userinfo, refreshes and revokes', async () => {
    // Real clock: openid-client checks id_token exp/iat against Date.now().
    const fake = await start({
      flavour: 'oidc',
      users: [
        { sub: 'u-1', login: 'ada', email: 'ada@example.com', name: 'Ada' },
        { sub: 'u-2', login: 'grace', email: 'grace@example.com', emailVerified: false },
      ],
    });
    fake.nextLogin('grace');
    const config = await client.discovery(new URL(fake.issuer), fake.clientId, fake.clientSecret, undefined, {
      execute: [client.allowInsecureRequests],
    });
    expect(config.serverMetadata()).toMatchObject({
      issuer: fake.issuer,
      code_challenge_methods_supported: ['S256'],
    });

    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const authUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const redirect = await fetch(authUrl, { redirect: 'manual' });
    const callback = new URL(redirect.headers.get('location') ?? '');
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    expect(tokens.claims()).toMatchObject({
      iss: fake.issuer,
      aud: fake.clientId,
      sub: 'u-2',
      email: 'grace@example.com',
      email_verified: false,
      preferred_username: 'grace',
      nonce,
    });
    const info = await client.fetchUserInfo(config, tokens.access_token, 'u-2');
    expect(info).toMatchObject({ sub: 'u-2', email: 'grace@example.com' });

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token ?? '');
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.claims()).toMatchObject({ sub: 'u-2' });
    expect(refreshed.claims()).not.toHaveProperty('nonce');
    await expect(client.refreshTokenGrant(config, tokens.refresh_token ?? '')).rejects.toMatchObject({
      error: 'invalid_grant',
    });

    await client.tokenRevocation(config, refreshed.refresh_token ?? '');
    expect(fake.revokedTokens).toEqual([refreshed.refresh_token]);
    await expect(client.fetchUserInfo(config, refreshed.access_token, 'u-2')).rejects.toThrow();
  });

  it('issues no refresh token when configured like Google without offline access', async () => {
    const fake = await start({ flavour: 'oidc', issueRefreshTokens: false });
    const tokens = fake.mintTokens('octocat');
    expect(tokens).not.toHaveProperty('refresh_token');
    expect(tokens.expires_in).toBe(3600);
  });
});
