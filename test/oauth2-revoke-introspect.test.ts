import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueKey } from '../src/apikeys/index.ts';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import {
  type Answer,
  basicAuth,
  exchange,
  type Flow,
  ISSUER,
  pkce,
  startFlow,
  type TestApp,
} from './kit/oauth2-flow.ts';

// OA-5: revocation (RFC 7009), introspection (RFC 7662), and users revoking the apps they
// authorized (GET|DELETE /api/v1/users/{user}/oauth2-apps).

const db = useTestDatabase();
let flow: Flow;
let ada: User;
let client: TestApp;
let confidential: TestApp;
let resourceServer: TestApp;

beforeAll(async () => {
  flow = await startFlow(db.url);
  ada = await flow.kit.user('ada');
  client = await flow.createApp();
  confidential = await flow.createApp({ method: 'client_secret_post' });
  resourceServer = await flow.createApp({
    origin: 'admin',
    method: 'client_secret_basic',
    grantTypes: ['client_credentials'],
  });
});
afterAll(() => flow.close());

const api = (token: string) =>
  flow.server.request('/api/v1/users/me', { headers: { authorization: `Bearer ${token}` } });
const basic = (c: TestApp) => ({ authorization: basicAuth(c.clientId, c.secret as string) });
const revoke = (c: TestApp, token: string) =>
  flow.post('/oauth2/revoke', {
    token,
    client_id: c.clientId,
    ...(c.secret ? { client_secret: c.secret } : {}),
  });
const introspect = async (token: string, by: TestApp = resourceServer) =>
  (await flow.post('/oauth2/introspect', { token }, basic(by))).json() as Promise<Answer>;
const refresh = (c: TestApp, token: string) =>
  flow.token(c, { grant_type: 'refresh_token', refresh_token: token });

describe('POST /oauth2/revoke', () => {
  it('revokes an access token at once', async () => {
    const tokens = await exchange(flow, client, await flow.code(client, ada));
    expect((await api(tokens.access_token)).status).toBe(200);
    const res = await revoke(client, tokens.access_token);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect((await api(tokens.access_token)).status).toBe(401);
    // The refresh token is a separate grant artefact and still works.
    expect((await refresh(client, tokens.refresh_token as string)).status).toBe(200);
  });

  it('revokes a refresh token with its whole family and their access tokens', async () => {
    const tokens = await exchange(flow, client, await flow.code(client, ada));
    const next = (await (await refresh(client, tokens.refresh_token as string)).json()) as Answer;
    expect((await revoke(client, next.refresh_token)).status).toBe(200);
    expect((await api(next.access_token)).status).toBe(401);
    expect((await api(tokens.access_token)).status).toBe(401);
    expect((await refresh(client, next.refresh_token)).status).toBe(400);
  });

  it('answers 200 for unknown tokens and leaves other clients’ tokens alone', async () => {
    for (const token of [
      'nonsense',
      'lkrt_unknown',
      'lk_AAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB',
    ]) {
      expect((await revoke(client, token)).status, token).toBe(200);
    }
    const tokens = await exchange(flow, client, await flow.code(client, ada));
    const other = await flow.createApp();
    expect((await revoke(other, tokens.access_token)).status).toBe(200);
    expect((await revoke(other, tokens.refresh_token as string)).status).toBe(200);
    expect((await api(tokens.access_token)).status).toBe(200);
    expect((await refresh(client, tokens.refresh_token as string)).status).toBe(200);
  });

  it('authenticates the client, and wants a token', async () => {
    const wrong = await flow.post('/oauth2/revoke', {
      token: 'x',
      client_id: confidential.clientId,
      client_secret: 'wrong',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Basic realm="latchkey"');
    expect((await wrong.json()) as Answer).toMatchObject({ error: 'invalid_client' });
    const missing = await flow.post('/oauth2/revoke', { client_id: client.clientId });
    expect((await missing.json()) as Answer).toMatchObject({ error: 'invalid_request' });
  });
});

describe('POST /oauth2/introspect', () => {
  it('describes an active access token to a resource server', async () => {
    const tokens = await exchange(flow, client, await flow.code(client, ada, { scope: 'user:read' }));
    const now = Math.floor(Date.now() / 1000);
    const body = await introspect(tokens.access_token);
    expect(body).toEqual({
      active: true,
      scope: 'user:read',
      client_id: client.clientId,
      username: 'ada',
      sub: ada.id,
      aud: `${ISSUER}/`,
      iss: ISSUER,
      exp: expect.any(Number),
      iat: expect.any(Number),
      token_type: 'Bearer',
    });
    expect(body.exp - now).toBeGreaterThan(3500);
    expect(Math.abs(body.iat - now)).toBeLessThan(60);
  });

  it('describes an active refresh token, and not a rotated one', async () => {
    const tokens = await exchange(flow, client, await flow.code(client, ada));
    expect(await introspect(tokens.refresh_token as string)).toMatchObject({
      active: true,
      token_type: 'refresh_token',
      client_id: client.clientId,
      sub: ada.id,
    });
    await refresh(client, tokens.refresh_token as string);
    expect(await introspect(tokens.refresh_token as string)).toEqual({ active: false });
  });

  it('says active: false for revoked, expired, unknown and malformed tokens', async () => {
    const tokens = await exchange(flow, client, await flow.code(client, ada));
    await revoke(client, tokens.access_token);
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
    const expired = await exchange(flow, client, await flow.code(client, ada));
    await flow.kit.handle.db
      .updateTable('api_keys')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('login_type', '=', 'oauth2_app')
      .execute();
    expect(await introspect(expired.access_token)).toEqual({ active: false });
    expect(await introspect('lk_AAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB')).toEqual({
      active: false,
    });
    expect(await introspect('garbage')).toEqual({ active: false });
  });

  it('does not describe personal API keys or sessions', async () => {
    const cookie = await flow.session(ada);
    expect(await introspect(cookie.split('=')[1] as string)).toEqual({ active: false });
  });

  it('shows a client that is not a resource server only its own tokens', async () => {
    const own = await exchange(flow, confidential, await flow.code(confidential, ada));
    const others = await exchange(flow, client, await flow.code(client, ada));
    expect(
      (await (
        await flow.post('/oauth2/introspect', {
          token: own.access_token,
          client_id: confidential.clientId,
          client_secret: confidential.secret as string,
        })
      ).json()) as Answer,
    ).toMatchObject({ active: true });
    expect(
      (await (
        await flow.post('/oauth2/introspect', {
          token: others.access_token,
          client_id: confidential.clientId,
          client_secret: confidential.secret as string,
        })
      ).json()) as Answer,
    ).toEqual({ active: false });
  });

  it('refuses public clients and unauthenticated callers', async () => {
    const pub = await flow.post('/oauth2/introspect', { token: 'x', client_id: client.clientId });
    expect(pub.status).toBe(401);
    expect((await pub.json()) as Answer).toMatchObject({ error: 'invalid_client' });
    const anon = await flow.post('/oauth2/introspect', { token: 'x' });
    expect(anon.status).toBe(401);
  });
});

describe('/api/v1/users/{user}/oauth2-apps', () => {
  it('lists the apps a user authorized, with the scope in words', async () => {
    const bea = await flow.kit.user('bea');
    const app = await flow.createApp({ name: 'Listed' });
    await exchange(flow, app, await flow.code(app, bea, { scope: 'user:read offline_access' }));
    const res = await flow.server.request('/api/v1/users/me/oauth2-apps', {
      headers: await asUserHeaders(bea),
    });
    expect(res.status).toBe(200);
    const { apps } = (await res.json()) as Answer;
    expect(apps).toEqual([
      {
        id: app.app.id,
        client_id: app.clientId,
        name: 'Listed',
        scope: 'user:read offline_access',
        scopes: [
          { name: 'user:read', description: 'Read user objects.' },
          { name: 'offline_access', description: expect.stringMatching(/refresh tokens/) },
        ],
        active_tokens: 1,
        authorized_at: expect.any(String),
        updated_at: expect.any(String),
      },
    ]);
  });

  it('DELETE revokes the app: consent, refresh tokens and access tokens', async () => {
    const cy = await flow.kit.user('cy');
    const app = await flow.createApp();
    const got = await flow.code(app, cy, { scope: 'user:read' });
    const tokens = await exchange(flow, app, got);
    const res = await flow.server.request(`/api/v1/users/me/oauth2-apps/${app.app.id}`, {
      method: 'DELETE',
      headers: await asUserHeaders(cy),
    });
    expect(res.status).toBe(204);
    expect((await api(tokens.access_token)).status).toBe(401);
    expect((await refresh(app, tokens.refresh_token as string)).status).toBe(400);
    const list = (await (
      await flow.server.request('/api/v1/users/me/oauth2-apps', { headers: await asUserHeaders(cy) })
    ).json()) as Answer;
    expect(list.apps).toEqual([]);
    // Consent is forgotten: the page is shown again.
    const again = await flow.authorize(
      {
        response_type: 'code',
        client_id: app.clientId,
        redirect_uri: app.app.redirect_uris[0],
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
        scope: 'user:read',
      },
      got.cookie,
    );
    expect(again.status).toBe(200);
    const gone = await flow.server.request(`/api/v1/users/me/oauth2-apps/${app.app.id}`, {
      method: 'DELETE',
      headers: await asUserHeaders(cy),
    });
    expect(gone.status).toBe(404);
  });

  it('is private to the user (and owners)', async () => {
    const dee = await flow.kit.user('dee');
    const eve = await flow.kit.user('eve');
    const owner = await flow.kit.user('boss', { siteRoles: ['owner'] });
    const app = await flow.createApp();
    const tokens = await exchange(flow, app, await flow.code(app, dee));
    const peek = await flow.server.request(`/api/v1/users/${dee.id}/oauth2-apps`, {
      headers: await asUserHeaders(eve),
    });
    expect(peek.status).toBe(404);
    const del = await flow.server.request(`/api/v1/users/${dee.id}/oauth2-apps/${app.app.id}`, {
      method: 'DELETE',
      headers: await asUserHeaders(eve),
    });
    expect(del.status).toBe(404);
    expect((await api(tokens.access_token)).status).toBe(200);
    const seen = await flow.server.request(`/api/v1/users/${dee.id}/oauth2-apps`, {
      headers: await asUserHeaders(owner),
    });
    expect(((await seen.json()) as Answer).apps).toHaveLength(1);
    expect((await flow.server.request('/api/v1/users/me/oauth2-apps')).status).toBe(401);
  });
});

/** Headers for API requests as `user`, with a personal API key of theirs. */
async function asUserHeaders(user: User): Promise<Record<string, string>> {
  const issued = await issueKey(flow.kit.raw, {
    userId: user.id,
    name: `k${Math.random().toString(36).slice(2)}`,
    loginType: 'token',
    scopes: ['latchkey:all'],
    allowList: ['*:*'],
    lifetimeMs: 3_600_000,
    now: new Date(),
  });
  return { authorization: `Bearer ${issued.token}` };
}
