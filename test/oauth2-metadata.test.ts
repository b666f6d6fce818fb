import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicScopes } from '../src/apikeys/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';

// OA-1 discovery and OA-6 CORS, with the interop rules real MCP clients depend on.

const db = useTestDatabase();
let server: TestServer;
let prefixed: TestServer;
const ISSUER = 'http://127.0.0.1:3000';
const PREFIXED = 'https://auth.example.com/latchkey';

beforeAll(async () => {
  // Believing X-Forwarded-* from loopback makes the spoofing tests as hard as possible.
  server = await startTestServer(db.url, { config: { accessUrl: ISSUER, trustProxy: ['loopback'] } });
  prefixed = await startTestServer(db.url, { config: { accessUrl: PREFIXED } });
});
afterAll(async () => {
  await server?.close();
  await prefixed?.close();
});

const json = async (res: Response) => (await res.json()) as Record<string, unknown>;
const get = async (path: string, s = server, headers: Record<string, string> = {}) => {
  const res = await s.request(path, { headers });
  return { res, body: await json(res) };
};

describe('authorization server metadata (RFC 8414)', () => {
  it('carries the issuer and every endpoint, computed from the access URL', async () => {
    const { res, body } = await get('/.well-known/oauth-authorization-server');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(body).toMatchObject({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/oauth2/authorize`,
      token_endpoint: `${ISSUER}/oauth2/token`,
      registration_endpoint: `${ISSUER}/oauth2/register`,
      revocation_endpoint: `${ISSUER}/oauth2/revoke`,
      introspection_endpoint: `${ISSUER}/oauth2/introspect`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
      revocation_endpoint_auth_methods_supported: expect.arrayContaining(['none']),
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    });
  });

  it('publishes code_challenge_methods_supported ["S256"] (MCP clients refuse to proceed without it)', async () => {
    const { body } = await get('/.well-known/oauth-authorization-server');
    expect(body.code_challenge_methods_supported).toEqual(['S256']);
  });

  it('publishes client_id_metadata_document_supported and authorization_response_iss_parameter_supported', async () => {
    const { body } = await get('/.well-known/oauth-authorization-server');
    expect(body.client_id_metadata_document_supported).toBe(true);
    expect(body.authorization_response_iss_parameter_supported).toBe(true);
  });

  it('lists the published scope catalog, plus offline_access', async () => {
    const { body } = await get('/.well-known/oauth-authorization-server');
    const scopes = body.scopes_supported as string[];
    for (const s of publicScopes()) expect(scopes).toContain(s.name);
    expect(scopes).toContain('offline_access');
  });

  it('the OpenID configuration is the same document, with the fields OpenID parsers require', async () => {
    const a = await get('/.well-known/oauth-authorization-server');
    const b = await get('/.well-known/openid-configuration');
    expect(b.res.status).toBe(200);
    expect(b.body).toEqual(a.body);
    expect(b.body).toMatchObject({
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
    });
  });

  it('a spoofed Host or X-Forwarded-Host changes neither the issuer nor any endpoint', async () => {
    const honest = await get('/.well-known/oauth-authorization-server');
    for (const headers of [
      { host: 'evil.example' },
      { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
      { forwarded: 'host=evil.example;proto=https' },
    ]) {
      const spoofed = await get('/.well-known/oauth-authorization-server', server, headers);
      expect(spoofed.body).toEqual(honest.body);
      expect(JSON.stringify(spoofed.body)).not.toContain('evil.example');
      const resource = await get('/.well-known/oauth-protected-resource', server, headers);
      expect(resource.body.resource).toBe(ISSUER);
    }
  });
});

describe('protected resource metadata (RFC 9728)', () => {
  it('names this server as the resource and the issuer byte for byte as its authorization server', async () => {
    const as = await get('/.well-known/oauth-authorization-server');
    const { res, body } = await get('/.well-known/oauth-protected-resource');
    expect(res.status).toBe(200);
    expect(body).toMatchObject({
      resource: ISSUER,
      authorization_servers: [as.body.issuer],
      bearer_methods_supported: ['header'],
    });
    expect(body.scopes_supported).toEqual(as.body.scopes_supported);
  });

  it('is served at the path-suffixed location for /mcp, naming /mcp as the resource', async () => {
    const { res, body } = await get('/.well-known/oauth-protected-resource/mcp');
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ resource: `${ISSUER}/mcp`, authorization_servers: [ISSUER] });
  });
});

describe('an access URL with a path (behind a reverse proxy)', () => {
  it.each([
    '/.well-known/oauth-authorization-server/latchkey', // RFC 8414 §3.1: inserted before the path
    '/.well-known/openid-configuration/latchkey',
    '/latchkey/.well-known/openid-configuration', // OpenID Discovery: appended to the issuer
    '/latchkey/.well-known/oauth-authorization-server', // a proxy passing the prefix through
    '/.well-known/oauth-authorization-server', // a proxy stripping the prefix
  ])('%s carries the path-ful issuer, byte-identical', async (path) => {
    const { res, body } = await get(path, prefixed);
    expect(res.status).toBe(200);
    expect(body.issuer).toBe(PREFIXED);
    expect(body.token_endpoint).toBe(`${PREFIXED}/oauth2/token`);
  });

  it.each([
    ['/.well-known/oauth-protected-resource/latchkey/mcp', `${PREFIXED}/mcp`],
    ['/.well-known/oauth-protected-resource/latchkey', PREFIXED],
    ['/latchkey/.well-known/oauth-protected-resource/mcp', `${PREFIXED}/mcp`],
    ['/.well-known/oauth-protected-resource/mcp', `${PREFIXED}/mcp`],
  ])('%s names %s, with the issuer as its authorization server', async (path, resource) => {
    const { res, body } = await get(path, prefixed);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ resource, authorization_servers: [PREFIXED] });
  });

  it('does not serve the issuer of a different path', async () => {
    const { res } = await get('/.well-known/oauth-authorization-server/other', prefixed);
    expect(res.status).toBe(404);
  });
});

describe('other well-known paths', () => {
  it.each([
    '/.well-known/unknown',
    '/.well-known/oauth-authorization-server/nope',
    '/.well-known/oauth-protected-resource/not-protected',
    '/.well-known/a/b/c?x=1',
  ])('%s is a 404 in JSON, never a 5xx', async (path) => {
    const res = await server.request(path);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ message: 'Not found.' });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('a malformed well-known URL is a client error, not a 5xx', async () => {
    const res = await server.request('/.well-known/%ZZ');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it('jwks.json is a key set (empty until JWT access tokens are signed)', async () => {
    const { res, body } = await get('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(body).toEqual({ keys: expect.any(Array) });
  });
});

describe('CORS (OA-6)', () => {
  const paths = [
    '/.well-known/oauth-authorization-server',
    '/.well-known/openid-configuration',
    '/.well-known/oauth-protected-resource',
    '/.well-known/oauth-protected-resource/mcp',
    '/oauth2/register',
    '/oauth2/token',
    '/oauth2/revoke',
  ];
  const posts = new Set(['/oauth2/register', '/oauth2/token', '/oauth2/revoke']);

  it.each(paths)('OPTIONS %s is a 204 preflight allowing any origin and the MCP headers', async (path) => {
    const res = await server.request(path, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://client.example',
        'access-control-request-method': posts.has(path) ? 'POST' : 'GET',
        'access-control-request-headers': 'authorization, content-type, mcp-protocol-version',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-headers')).toBe(
      'authorization, content-type, mcp-protocol-version',
    );
    expect(res.headers.get('access-control-allow-methods')).toContain(posts.has(path) ? 'POST' : 'GET');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('metadata answers carry Access-Control-Allow-Origin *', async () => {
    const res = await server.request('/.well-known/oauth-authorization-server', {
      headers: { origin: 'https://client.example' },
    });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('a 401 of an OAuth endpoint carries CORS and exposes WWW-Authenticate', async () => {
    const res = await server.request('/oauth2/register/lkc_unknown', {
      headers: { origin: 'https://client.example', authorization: 'Bearer wrong' },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toBe('www-authenticate');
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('the authorize page is not opened to other origins: no CORS, no preflight', async () => {
    const get = await server.request('/oauth2/authorize?client_id=x', {
      headers: { origin: 'https://client.example' },
    });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await server.request('/oauth2/authorize', {
      method: 'OPTIONS',
      headers: { origin: 'https://client.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).not.toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('API routes are not opened to other origins', async () => {
    const res = await server.request('/api/v1/users/me', { headers: { origin: 'https://client.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('401 challenges point to the protected-resource metadata', () => {
  it('a request without credentials gets resource_metadata with the configured URL', async () => {
    const res = await server.request('/api/v1/users/me', { headers: { host: 'evil.example' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer realm="latchkey", resource_metadata="${ISSUER}/.well-known/oauth-protected-resource"`,
    );
  });

  it('an invalid token gets error="invalid_token" and resource_metadata', async () => {
    const res = await server.request('/api/v1/users/me', { headers: { authorization: 'Bearer lk_nope' } });
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer realm="latchkey", error="invalid_token"/);
    expect(challenge).toContain(`resource_metadata="${ISSUER}/.well-known/oauth-protected-resource"`);
  });
});
