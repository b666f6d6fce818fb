import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/apikeys/index.ts';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import {
  type Answer,
  basicAuth,
  exchange,
  type Flow,
  formFields,
  ISSUER,
  LOOPBACK_REDIRECT,
  pkce,
  REDIRECT,
  startFlow,
  type TestApp,
} from './kit/oauth2-flow.ts';

// The attack suite of issue 8 (RFC 9700, the OAuth 2.0 Security BCP): one test per attack,
// each asserting that it fails and that nothing leaks while it does.

const db = useTestDatabase();
let flow: Flow;
let ada: User;
let client: TestApp;

beforeAll(async () => {
  flow = await startFlow(db.url);
  ada = await flow.kit.user('ada');
  client = await flow.createApp();
});
afterAll(() => flow.close());

const api = (token: string) =>
  flow.server.request('/api/v1/users/me', { headers: { authorization: `Bearer ${token}` } });
const redeem = (c: TestApp, got: { code: string; verifier: string }, extra: Record<string, string> = {}) =>
  flow.token(c, {
    grant_type: 'authorization_code',
    code: got.code,
    code_verifier: got.verifier,
    redirect_uri: c.app.redirect_uris[0] as string,
    ...extra,
  });
const errorOf = async (res: Response) => ((await res.json()) as Answer).error;
const authorizeParams = (c: TestApp, extra: Record<string, string | undefined> = {}) => ({
  response_type: 'code',
  client_id: c.clientId,
  redirect_uri: c.app.redirect_uris[0],
  code_challenge: pkce().challenge,
  code_challenge_method: 'S256',
  state: 'st',
  ...extra,
});

describe('authorization codes', () => {
  it('code replay: a second redemption with the verifier fails and revokes what the first issued', async () => {
    const got = await flow.code(client, ada);
    const tokens = await exchange(flow, client, got);
    expect((await api(tokens.access_token)).status).toBe(200);
    const replay = await redeem(client, got);
    expect(replay.status).toBe(400);
    expect(await errorOf(replay)).toBe('invalid_grant');
    expect((await api(tokens.access_token)).status).toBe(401);
    const refreshed = await flow.token(client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
    });
    expect(await errorOf(refreshed)).toBe('invalid_grant');
  });

  it('code replay without the verifier is refused and revokes nothing', async () => {
    const got = await flow.code(client, ada);
    const tokens = await exchange(flow, client, got);
    const replay = await redeem(client, { code: got.code, verifier: pkce().verifier });
    expect(await errorOf(replay)).toBe('invalid_grant');
    expect((await api(tokens.access_token)).status).toBe(200);
  });

  it('racing redemptions of one code: exactly one succeeds', async () => {
    for (let round = 0; round < 3; round++) {
      const got = await flow.code(client, ada);
      const answers = await Promise.all(Array.from({ length: 50 }, () => redeem(client, got)));
      expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
      expect(answers.filter((r) => r.status === 400)).toHaveLength(49);
    }
  });

  it('a code used by another client is refused, and stays good for its own', async () => {
    const thief = await flow.createApp();
    const got = await flow.code(client, ada);
    expect(await errorOf(await redeem(thief, got, { redirect_uri: REDIRECT }))).toBe('invalid_grant');
    expect((await redeem(client, got)).status).toBe(200);
  });

  it('a wrong redirect_uri at the token endpoint is refused', async () => {
    const got = await flow.code(client, ada);
    for (const uri of ['https://client.example/other', `${REDIRECT}/`, 'https://evil.example/callback']) {
      expect(await errorOf(await redeem(client, got, { redirect_uri: uri })), uri).toBe('invalid_grant');
    }
    expect((await redeem(client, got)).status).toBe(200);
  });

  it('a wrong PKCE verifier is refused', async () => {
    const got = await flow.code(client, ada);
    const res = await redeem(client, { code: got.code, verifier: pkce().verifier });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe('invalid_grant');
  });
});

describe('the authorization request', () => {
  it('redirect URI tricks (prefix, suffix, userinfo, encoding, case, fragment) get an error page, never a redirect', async () => {
    const loopback = await flow.createApp({ redirectUris: [LOOPBACK_REDIRECT] });
    const cookie = await flow.session(ada);
    const tricks: Array<[TestApp, string]> = [
      [client, 'https://client.example/callback/evil'],
      [client, 'https://client.example/callbac'],
      [client, 'https://client.example/callback/../evil'],
      [client, 'https://client.example/callback?x=1'],
      [client, 'https://client.example/callback#frag'],
      [client, 'https://client.example.evil.com/callback'],
      [client, 'https://client.example@evil.com/callback'],
      [client, 'https://evil.com@client.example/callback'],
      [client, 'https://client.example%2F@evil.com/callback'],
      [client, 'https://client.example/callback%2F..%2F..%2Fevil'],
      [client, 'https://client.example/%63allback'],
      [client, 'HTTPS://CLIENT.EXAMPLE/callback'],
      [client, 'http://client.example/callback'],
      [client, 'https://client.example:443/callback'],
      [loopback, 'http://localhost:8123/callback'],
      [loopback, 'http://127.0.0.1:8123@evil.com/callback'],
      [loopback, 'http://127.0.0.1:8123/callback/x'],
      [loopback, 'http://127.0.0.1.evil.com:8123/callback'],
      [loopback, 'https://127.0.0.1:8123/callback'],
      [loopback, 'http://127.0.0.1:99999/callback'],
      [loopback, 'http://127.0.0.2:8123/callback'],
    ];
    for (const [c, uri] of tricks) {
      const res = await flow.authorize(authorizeParams(c, { redirect_uri: uri }), cookie);
      expect(res.status, uri).toBe(400);
      expect(res.headers.get('location'), uri).toBeNull();
    }
  });

  it('missing or plain PKCE is refused with an error, never a code', async () => {
    const cookie = await flow.session(ada);
    for (const extra of [
      { code_challenge: undefined, code_challenge_method: undefined },
      { code_challenge_method: 'plain' },
      { code_challenge_method: undefined },
    ]) {
      const res = await flow.authorize(authorizeParams(client, extra), cookie);
      const to = new URL(res.headers.get('location') as string);
      expect(to.searchParams.get('error')).toBe('invalid_request');
      expect(to.searchParams.has('code')).toBe(false);
    }
  });

  it('response_type=token is refused: no token in the answer, in query or fragment', async () => {
    const res = await flow.authorize(
      authorizeParams(client, { response_type: 'token' }),
      await flow.session(ada),
    );
    const location = res.headers.get('location') as string;
    const to = new URL(location);
    expect(to.searchParams.get('error')).toBe('unsupported_response_type');
    expect(to.hash).toBe('');
    expect(location).not.toMatch(/access_token|code=/);
  });
});

describe('refresh tokens', () => {
  it('reuse after the grace window revokes the family; a repeat inside it is an idempotent retry', async () => {
    const tokens = await exchange(flow, client, await flow.code(client, ada));
    const first = (await (
      await flow.token(client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string })
    ).json()) as Answer;
    const retry = (await (
      await flow.token(client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string })
    ).json()) as Answer;
    expect(retry).toEqual({ ...first, expires_in: expect.any(Number) });
    await sql`UPDATE oauth2_refresh_tokens SET rotated_at = rotated_at - interval '1 minute' WHERE rotated_at IS NOT NULL`.execute(
      flow.kit.handle.db,
    );
    const reuse = await flow.token(client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
    });
    expect(await errorOf(reuse)).toBe('invalid_grant');
    expect((await api(first.access_token)).status).toBe(401);
    const after = await flow.token(client, {
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token,
    });
    expect(await errorOf(after)).toBe('invalid_grant');
  });

  it('a refresh token of another client is refused and revokes nothing', async () => {
    const tokens = await exchange(flow, client, await flow.code(client, ada));
    const thief = await flow.createApp();
    const stolen = await flow.token(thief, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
    });
    expect(await errorOf(stolen)).toBe('invalid_grant');
    const own = await flow.token(client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
    });
    expect(own.status).toBe(200);
  });
});

describe('audience', () => {
  it('a token for another resource server is refused at /api, and valid for that server at introspection', async () => {
    const tokens = await exchange(
      flow,
      client,
      await flow.code(client, ada, { resource: 'https://other.example/mcp' }),
    );
    const res = await api(tokens.access_token);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    const rs = await flow.createApp({ origin: 'admin', method: 'client_secret_basic' });
    const introspected = await flow.post(
      '/oauth2/introspect',
      { token: tokens.access_token },
      { authorization: basicAuth(rs.clientId, rs.secret as string) },
    );
    expect((await introspected.json()) as Answer).toMatchObject({
      active: true,
      aud: 'https://other.example/mcp',
      sub: ada.id,
    });
  });
});

describe('the consent form', () => {
  // A fresh client each time: once allowed, consent is remembered and the page skipped.
  async function consentPage(user: User, extra: Record<string, string> = {}, c?: TestApp) {
    const cookie = await flow.session(user);
    const app = c ?? (await flow.createApp());
    const res = await flow.authorize(authorizeParams(app, { scope: 'user:read', ...extra }), cookie);
    expect(res.status).toBe(200);
    return { cookie, html: await res.text(), headers: res.headers };
  }

  it('a POST without the CSRF token is refused, with no redirect', async () => {
    const { cookie, html } = await consentPage(ada);
    const res = await flow.decide(html, 'allow', cookie, { csrf_token: '' });
    expect(res.status).toBe(403);
    expect(res.headers.get('location')).toBeNull();
  });

  it('a CSRF token from another session (the attacker’s own) is refused', async () => {
    const mallory = await flow.kit.user('mallory');
    const target = await flow.createApp();
    const theirs = await consentPage(mallory, {}, target);
    const victim = await consentPage(ada, {}, target);
    const res = await flow.decide(theirs.html, 'allow', victim.cookie);
    expect(res.status).toBe(403);
  });

  it('a CSRF token shown for one request cannot approve another', async () => {
    const { cookie, html } = await consentPage(ada);
    const res = await flow.decide(html, 'allow', cookie, { scope: 'latchkey:all' });
    expect(res.status).toBe(403);
    const elsewhere = await flow.decide(html, 'allow', cookie, { state: 'other' });
    expect(elsewhere.status).toBe(403);
  });

  it('a POST from another site is refused even with a good token; Origin: null (no-referrer) passes', async () => {
    const { cookie, html } = await consentPage(ada);
    const fields = { ...formFields(html), decision: 'allow' };
    const cross = await flow.post('/oauth2/authorize', fields, { cookie, origin: 'https://evil.example' });
    expect(cross.status).toBe(403);
    expect(cross.headers.get('location')).toBeNull();
    const hidden = await flow.post('/oauth2/authorize', fields, { cookie, origin: 'null' });
    expect(hidden.status).toBe(303);
  });

  it('parameters smuggled into the authorization URL cannot decide for the user', async () => {
    const { cookie, html } = await consentPage(ada, { decision: 'allow', csrf_token: 'forged' });
    const fields = formFields(html);
    expect(fields.decision).toBeUndefined();
    const res = await flow.decide(html, 'deny', cookie);
    expect(new URL(res.headers.get('location') as string).searchParams.get('error')).toBe('access_denied');
  });

  it('the page cannot be framed', async () => {
    const { headers } = await consentPage(ada);
    expect(headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('the login page', () => {
  it('never redirects off-site after signing in (open redirect via `redirect`)', async () => {
    await flow.kit.raw.insertUser({
      email: 'eve@example.com',
      username: 'eve',
      hashedPassword: await hashPassword('correct horse'),
    });
    for (const target of [
      'https://evil.example/',
      '//evil.example/x',
      '/\\evil.example',
      'javascript:alert(1)',
      '/%0d%0aLocation:x',
    ]) {
      const page = await flow.server.request(`/login?redirect=${encodeURIComponent(target)}`);
      const field = /name="redirect" value="([^"]*)"/.exec(await page.text())?.[1];
      expect(field === '/' || field?.startsWith('/%0'), target).toBe(true);
      const res = await flow.post(
        '/login',
        { email: 'eve@example.com', password: 'correct horse', redirect: target },
        { origin: ISSUER },
      );
      expect(res.status).toBe(303);
      const location = res.headers.get('location') as string;
      expect(new URL(location, ISSUER).origin, target).toBe(ISSUER);
    }
  });
});
