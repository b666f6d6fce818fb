import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActors } from '../src/authz/index.ts';
import { resolveClient } from '../src/oauth2/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';

// OA-2: dynamic client registration (RFC 7591) and management (RFC 7592), as the clients
// people use send it.

const db = useTestDatabase();
let server: TestServer;
let kit: StoreKit;
const ISSUER = 'http://127.0.0.1:3000';

beforeAll(async () => {
  kit = storeKit(db.url);
  // Registrations here outnumber the per-address limit; its own test is in the security suite.
  server = await startTestServer(db.url, { config: { rateLimitOauth2Register: 0 } });
});
afterAll(async () => {
  await server?.close();
  await kit?.close();
});

type Json = Record<string, unknown>;
const JSON_HEADERS = { 'content-type': 'application/json' };

async function register(s: TestServer, body: unknown): Promise<{ res: Response; body: Json }> {
  const res = await s.request('/oauth2/register', {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify(body),
  });
  return { res, body: (await res.json()) as Json };
}

const manage = (method: string, body: Json, token: string, payload?: unknown) =>
  server.request(`/oauth2/register/${body.client_id}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(payload === undefined ? {} : JSON_HEADERS) },
    ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
  });

/** What the MCP TypeScript SDK sends (plus fields it does not know we ignore). */
const MCP_CLIENT = {
  client_name: 'Example MCP client',
  redirect_uris: ['http://localhost:53682/callback'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'none',
  client_uri: 'https://client.example',
  software_id: 'example-mcp',
  software_version: '1.2.3',
  'client_name#fr': 'Client MCP exemple',
  x_vendor_extension: { nested: [1, 2, 3] },
};

describe('POST /oauth2/register', () => {
  it('registers a public MCP client: 201, no secret, every registered field echoed', async () => {
    const { res, body } = await register(server, MCP_CLIENT);
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
    expect(body).toMatchObject({ ...MCP_CLIENT, application_type: 'native' });
    expect(body.client_id).toMatch(/^lkc_[0-9a-f]{32}$/);
    expect(body.client_id_issued_at).toBeTypeOf('number');
    expect(Math.abs((body.client_id_issued_at as number) - Date.now() / 1000)).toBeLessThan(60);
    expect(body).not.toHaveProperty('client_secret');
    expect(body).not.toHaveProperty('client_secret_expires_at');
    expect(body.registration_access_token).toMatch(/^lkrat_/);
    expect(body.registration_client_uri).toBe(`${ISSUER}/oauth2/register/${body.client_id}`);
  });

  it('fills in the RFC 7591 defaults: authorization_code, code, client_secret_basic with a secret', async () => {
    const { res, body } = await register(server, { redirect_uris: ['https://app.example/callback'] });
    expect(res.status).toBe(201);
    expect(body).toMatchObject({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      application_type: 'web',
      client_secret_expires_at: 0,
    });
    expect(body.client_secret).toMatch(/^lkcs_/);
  });

  it('omits unset fields: never null or ""', async () => {
    const { body } = await register(server, {
      redirect_uris: ['https://app.example/callback'],
      client_uri: null,
      tos_uri: '',
      client_name: '',
    });
    for (const [key, value] of Object.entries(body)) {
      expect(value, key).not.toBeNull();
      expect(value, key).not.toBe('');
    }
    expect(body).not.toHaveProperty('client_uri');
    expect(body).not.toHaveProperty('tos_uri');
    expect(body).not.toHaveProperty('client_name');
    expect(body).not.toHaveProperty('scope');
  });

  it('stores the client secret and registration token only as SHA-256 hashes', async () => {
    const { body } = await register(server, { redirect_uris: ['https://app.example/callback'] });
    const app = await kit.raw.getOAuth2AppByClientId({ clientId: body.client_id as string });
    const secrets = await kit.raw.listOAuth2AppSecrets({ appId: app?.id as string });
    const sha = (text: unknown) =>
      createHash('sha256')
        .update(text as string)
        .digest();
    expect(secrets.map((s) => s.hashed_secret)).toEqual([sha(body.client_secret)]);
    expect(app?.registration_token_hash).toEqual(sha(body.registration_access_token));
    const stored = JSON.stringify({ app, secrets });
    expect(stored).not.toContain(body.client_secret as string);
    expect(stored).not.toContain(body.registration_access_token as string);
  });

  it('accepts a scope from the catalog, and offline_access', async () => {
    const { res, body } = await register(server, { ...MCP_CLIENT, scope: 'user:read offline_access' });
    expect(res.status).toBe(201);
    expect(body.scope).toBe('user:read offline_access');
  });

  it.each([
    ['VS Code (loopback without a path)', ['http://127.0.0.1:33418', 'https://vscode.dev/redirect']],
    ['IPv6 loopback', ['http://[::1]:8080/callback']],
    ['localhost', ['http://localhost/callback']],
    ['a reverse-domain private-use scheme', ['com.example.app:/oauth2redirect']],
    ['a single-word private-use scheme (Cursor)', ['cursor://anysphere.cursor-mcp/oauth/callback']],
  ])('infers application_type native from %s', async (_name, uris) => {
    const { res, body } = await register(server, { redirect_uris: uris, token_endpoint_auth_method: 'none' });
    expect(res.status).toBe(201);
    expect(body.application_type).toBe('native');
    expect(body.redirect_uris).toEqual(uris);
  });

  it('keeps an explicit application_type', async () => {
    const { body } = await register(server, {
      redirect_uris: ['https://app.example/callback'],
      application_type: 'native',
    });
    expect(body.application_type).toBe('native');
  });

  it('registers a confidential client for client_credentials without redirect URIs', async () => {
    const { res, body } = await register(server, {
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'client_secret_post',
    });
    expect(res.status).toBe(201);
    expect(body).not.toHaveProperty('redirect_uris');
    expect(body.client_secret).toBeTypeOf('string');
  });

  it('the registered client is what resolveClient finds for authorize and token', async () => {
    const { body } = await register(server, MCP_CLIENT);
    const app = await resolveClient({ authz: kit.authz }, body.client_id as string);
    expect(app).toMatchObject({ origin: 'dynamic', redirect_uris: MCP_CLIENT.redirect_uris });
    expect(await resolveClient({ authz: kit.authz }, 'lkc_unknown')).toBeUndefined();
  });
});

describe('GET|PUT|DELETE /oauth2/register/{client_id} (RFC 7592)', () => {
  it('GET answers the registration with the token (neither secret nor token repeated)', async () => {
    const { body } = await register(server, {
      ...MCP_CLIENT,
      token_endpoint_auth_method: 'client_secret_basic',
    });
    const res = await manage('GET', body, body.registration_access_token as string);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const read = (await res.json()) as Json;
    const { client_secret, client_secret_expires_at, registration_access_token, ...rest } = body;
    expect(read).toEqual(rest);
    // The token is still good.
    expect((await manage('GET', body, registration_access_token as string)).status).toBe(200);
  });

  it('PUT replaces the metadata and rotates the registration access token', async () => {
    const { body } = await register(server, MCP_CLIENT);
    const old = body.registration_access_token as string;
    const res = await manage('PUT', body, old, {
      client_id: body.client_id,
      redirect_uris: ['http://127.0.0.1:9999/cb'],
      token_endpoint_auth_method: 'none',
      client_name: 'Renamed',
    });
    expect(res.status).toBe(200);
    const updated = (await res.json()) as Json;
    expect(updated).toMatchObject({
      client_id: body.client_id,
      client_name: 'Renamed',
      redirect_uris: ['http://127.0.0.1:9999/cb'],
      grant_types: ['authorization_code'], // left out: back to the default
    });
    expect(updated).not.toHaveProperty('software_id');
    expect(updated.registration_access_token).not.toBe(old);
    expect((await manage('GET', body, old)).status).toBe(401);
    expect((await manage('GET', body, updated.registration_access_token as string)).status).toBe(200);
  });

  it('PUT from public to confidential issues a secret; back to public deletes it', async () => {
    const { body } = await register(server, MCP_CLIENT);
    const toConfidential = await manage('PUT', body, body.registration_access_token as string, {
      ...MCP_CLIENT,
      client_id: body.client_id,
      token_endpoint_auth_method: 'client_secret_basic',
    });
    const confidential = (await toConfidential.json()) as Json;
    expect(confidential.client_secret).toMatch(/^lkcs_/);
    const app = await kit.raw.getOAuth2AppByClientId({ clientId: body.client_id as string });
    expect(await kit.raw.listOAuth2AppSecrets({ appId: app?.id as string })).toHaveLength(1);
    const toPublic = await manage('PUT', body, confidential.registration_access_token as string, {
      ...MCP_CLIENT,
      client_id: body.client_id,
      client_secret: confidential.client_secret,
    });
    expect(toPublic.status).toBe(200);
    expect(await kit.raw.listOAuth2AppSecrets({ appId: app?.id as string })).toEqual([]);
  });

  it('DELETE removes the client; its token then opens nothing', async () => {
    const { body } = await register(server, MCP_CLIENT);
    const token = body.registration_access_token as string;
    expect((await manage('DELETE', body, token)).status).toBe(204);
    expect((await manage('GET', body, token)).status).toBe(401);
    expect(
      await kit.authz
        .as(systemActors.systemOAuth2)
        .getOAuth2AppByClientId({ clientId: body.client_id as string }),
    ).toBeUndefined();
  });

  it('accepts the Bearer scheme in any case', async () => {
    const { body } = await register(server, MCP_CLIENT);
    const res = await server.request(`/oauth2/register/${body.client_id}`, {
      headers: { authorization: `bearer ${body.registration_access_token}` },
    });
    expect(res.status).toBe(200);
  });
});
