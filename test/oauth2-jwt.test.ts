import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import {
  type Answer,
  basicAuth,
  exchange,
  type Flow,
  ISSUER,
  startFlow,
  type TestApp,
} from './kit/oauth2-flow.ts';

// OA-5: RFC 9068 JWT access tokens. Tokens for a configured resource (here Latchkey's own
// /mcp) are JWTs signed with a key published at /.well-known/jwks.json; other audiences
// stay opaque unless the app is set to `jwt`. A JWT is the same access token (its jti is
// the key id), so revocation, introspection and refresh treat it like the opaque one.

const MCP = `${ISSUER}/mcp`;
const ELSEWHERE = 'https://rs.example/api';
const db = useTestDatabase();
let flow: Flow;
let ada: User;

beforeAll(async () => {
  flow = await startFlow(db.url, {
    oauth2JwtResources: [MCP, 'https://rs.example'],
    oauth2AccessTokenLifetime: 600_000,
  });
  ada = await flow.kit.user('ada-jwt');
});
afterAll(() => flow.close());

const jwks = async () => {
  const res = await flow.server.request('/.well-known/jwks.json');
  expect(res.status).toBe(200);
  return (await res.json()) as { keys: JWK[] };
};
const whoami = (token: string) =>
  flow.server.request('/mcp', {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'whoami', arguments: {} },
    }),
  });
const me = (token: string) =>
  flow.server.request('/api/v1/users/me', { headers: { authorization: `Bearer ${token}` } });

/** A resource-server app (admin origin, confidential): may introspect any token. */
async function resourceServer(): Promise<TestApp> {
  return flow.createApp({
    origin: 'admin',
    method: 'client_secret_basic',
    grantTypes: ['client_credentials'],
  });
}
const basic = (client: TestApp) => basicAuth(client.clientId, client.secret ?? '');
const introspect = async (as: TestApp, token: string) =>
  (await (await flow.post('/oauth2/introspect', { token }, { authorization: basic(as) })).json()) as Answer;

async function mcpTokens(client: TestApp, scope?: string) {
  return exchange(flow, client, await flow.code(client, ada, { resource: MCP, scope }), { resource: MCP });
}

describe('JWT access tokens for a configured resource', () => {
  it('issues an RFC 9068 JWT signed by a published key, with the grant in its claims', async () => {
    const client = await flow.createApp();
    const tokens = await mcpTokens(client, 'user:read offline_access');
    const header = decodeProtectedHeader(tokens.access_token);
    expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256', kid: expect.any(String) });
    const set = await jwks();
    expect(set.keys.map((k) => k.kid)).toContain(header.kid);
    expect(set.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    // Only public parts are published.
    expect(set.keys.every((k) => k.d === undefined)).toBe(true);

    // A resource server verifies it offline, as jose (or any JOSE library) would.
    const { payload } = await jwtVerify(tokens.access_token, createLocalJWKSet(set), {
      issuer: ISSUER,
      audience: MCP,
      typ: 'at+jwt',
    });
    expect(payload).toMatchObject({
      iss: ISSUER,
      aud: MCP,
      sub: ada.id,
      client_id: client.clientId,
      scope: 'user:read',
      jti: expect.any(String),
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(600);
    expect(tokens.scope).toBe('user:read offline_access');

    // And Latchkey itself takes it at /mcp, its audience.
    const res = await whoami(tokens.access_token);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('ada-jwt');
  });

  it('keeps tokens for other audiences opaque', async () => {
    const client = await flow.createApp();
    const tokens = await exchange(flow, client, await flow.code(client, ada));
    expect(tokens.access_token).toMatch(/^lk_/);
    expect((await me(tokens.access_token)).status).toBe(200);
  });

  it('is taken by Latchkey only when its audience is Latchkey; a JWT for another server is refused here', async () => {
    const client = await flow.createApp();
    // /mcp is under the access URL: the API takes tokens for the access URL and below.
    expect((await me((await mcpTokens(client)).access_token)).status).toBe(200);
    const elsewhere = await exchange(flow, client, await flow.code(client, ada, { resource: ELSEWHERE }), {
      resource: ELSEWHERE,
    });
    expect(decodeJwt(elsewhere.access_token).aud).toBe(ELSEWHERE);
    const res = await me(elsewhere.access_token);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('stops working at once when revoked, and introspects like the opaque token it encodes', async () => {
    const client = await flow.createApp();
    const rs = await resourceServer();
    const tokens = await mcpTokens(client);
    expect(await introspect(rs, tokens.access_token)).toMatchObject({
      active: true,
      aud: MCP,
      sub: ada.id,
      client_id: client.clientId,
      token_type: 'Bearer',
      exp: decodeJwt(tokens.access_token).exp,
    });
    const revoked = await flow.post('/oauth2/revoke', {
      token: tokens.access_token,
      client_id: client.clientId,
    });
    expect(revoked.status).toBe(200);
    expect((await whoami(tokens.access_token)).status).toBe(401);
    expect(await introspect(rs, tokens.access_token)).toEqual({ active: false });
  });

  it('refreshes into a new JWT, and a repeat within the grace window gets the same token id', async () => {
    const client = await flow.createApp();
    const first = await mcpTokens(client);
    const refresh = () =>
      flow.token(client, {
        grant_type: 'refresh_token',
        refresh_token: first.refresh_token ?? '',
        resource: MCP,
      });
    const a = (await (await refresh()).json()) as Answer;
    const b = (await (await refresh()).json()) as Answer;
    expect(decodeProtectedHeader(a.access_token).typ).toBe('at+jwt');
    expect(decodeJwt(a.access_token).jti).not.toBe(decodeJwt(first.access_token).jti);
    expect(decodeJwt(b.access_token).jti).toBe(decodeJwt(a.access_token).jti);
    expect(b.refresh_token).toBe(a.refresh_token);
    expect((await whoami(b.access_token)).status).toBe(200);
  });

  it('refuses forged, altered and look-alike JWTs with 401 invalid_token', async () => {
    const client = await flow.createApp();
    const real = (await mcpTokens(client)).access_token;
    const [h, p, sig] = real.split('.') as [string, string, string];
    const claims = decodeJwt(real);
    const header = decodeProtectedHeader(real);
    const other = await generateKeyPair('ES256');
    const sign = (typ: string, alg: 'ES256' = 'ES256', body = claims) =>
      new SignJWT(body).setProtectedHeader({ alg, kid: header.kid as string, typ }).sign(other.privateKey);
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const forged = [
      // Signed by someone else under the published kid.
      await sign('at+jwt'),
      // The claims changed (another user), the signature kept.
      `${h}.${b64({ ...claims, sub: '00000000-0000-0000-0000-000000000000' })}.${sig}`,
      // alg none.
      `${b64({ alg: 'none', typ: 'at+jwt', kid: header.kid })}.${p}.`,
      // A signature over another header (typ JWT, as an ID token would have).
      `${b64({ ...header, typ: 'JWT' })}.${p}.${sig}`,
      // An unknown kid.
      `${b64({ ...header, kid: 'nope' })}.${p}.${sig}`,
    ];
    for (const token of forged) {
      const res = await whoami(token);
      expect(res.status, token).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
    expect((await whoami(real)).status).toBe(200);
  });

  it('answers an expired JWT with 401 invalid_token saying it expired', async () => {
    const client = await flow.createApp();
    const tokens = await mcpTokens(client);
    // The row and the signature both say when it ends; age the row past it, then the claim.
    const { sql } = await import('kysely');
    await sql`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = ${decodeJwt(tokens.access_token).jti as string}`.execute(
      flow.kit.handle.db,
    );
    const res = await whoami(tokens.access_token);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('expired');
  });
});

describe('per app', () => {
  it('gives an app set to access_token_format=jwt JWTs for every audience, through the apps API', async () => {
    const owner = await flow.kit.user('jwt-owner', { siteRoles: ['owner'] });
    const cookie = await flow.session(owner);
    const created = await flow.server.request('/api/v1/oauth2-provider/apps', {
      method: 'POST',
      headers: { cookie, origin: ISSUER, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'JWT app',
        redirect_uris: ['https://client.example/callback'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        access_token_format: 'jwt',
      }),
    });
    expect(created.status).toBe(201);
    const app = (await created.json()) as { id: string; client_id: string; access_token_format: string };
    expect(app.access_token_format).toBe('jwt');
    const row = await flow.kit.raw.getOAuth2AppById({ id: app.id });
    const client: TestApp = {
      app: row as NonNullable<typeof row>,
      clientId: app.client_id,
      secret: undefined,
    };
    const tokens = await exchange(flow, client, await flow.code(client, ada));
    expect(decodeJwt(tokens.access_token).aud).toBe(`${ISSUER}/`);
    expect((await me(tokens.access_token)).status).toBe(200);
  });
});
