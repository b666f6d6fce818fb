import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';

// OA-2: what registration refuses, and how (RFC 7591 §3.2.2 errors, RFC 6749 §5.2 shape).

const db = useTestDatabase();
let server: TestServer;

beforeAll(async () => {
  // Registrations here outnumber the per-address limit; its own test is in the security suite.
  server = await startTestServer(db.url, { config: { rateLimitOauth2Register: 0 } });
});
afterAll(async () => {
  await server?.close();
});

type Json = Record<string, unknown>;

async function register(body: unknown, headers: Record<string, string> = {}) {
  const res = await server.request('/oauth2/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { res, body: (await res.json()) as Json };
}

const PUBLIC = { token_endpoint_auth_method: 'none' };

async function refused(body: unknown, error: string, description?: RegExp) {
  const out = await register(body);
  expect(out.res.status).toBe(400);
  expect(out.res.headers.get('cache-control')).toBe('no-store');
  expect(out.body).toMatchObject({ error, error_description: expect.any(String) });
  if (description) expect(out.body.error_description).toMatch(description);
  expect(Object.keys(out.body).sort()).toEqual(['error', 'error_description']);
}

describe('invalid_redirect_uri', () => {
  it.each([
    ['a fragment', 'https://app.example/cb#frag', /fragment/],
    ['an empty fragment', 'https://app.example/cb#', /fragment/],
    ['user information', 'https://user:pass@app.example/cb', /user information/],
    ['an @ hiding the real host', 'https://good.example@evil.example/cb', /user information/],
    ['http on a public host', 'http://app.example/cb', /loopback/],
    ['http on a private address', 'http://10.0.0.1/cb', /loopback/],
    ['http on a loopback-looking name', 'http://localhost.evil.example/cb', /loopback/],
    ['a numeric shorthand of loopback', 'http://127.1/cb', /canonically/],
    ['a hex IPv4 host', 'https://0x7f.0.0.1/cb', /canonically/],
    ['the default port written out', 'https://app.example:443/cb', /canonically/],
    ['javascript:', 'javascript:alert(document.cookie)', /javascript/],
    ['javascript: in upper case', 'JAVASCRIPT://%0aalert(1)', /javascript/],
    ['data:', 'data:text/html,<script>alert(1)</script>', /data/],
    ['file:', 'file:///etc/passwd', /file/],
    ['a relative URI', '/callback', /absolute/],
    ['a backslash', 'https://app.example\\@evil.example/cb', /backslash/],
    ['a space', 'https://app.example/c b', /spaces/],
    ['an empty string', '', /non-empty/],
  ])('refuses %s', async (_name, uri, why) => {
    await refused({ ...PUBLIC, redirect_uris: [uri] }, 'invalid_redirect_uri', why);
  });

  it('refuses a non-string redirect URI', async () => {
    await refused({ ...PUBLIC, redirect_uris: [42] }, 'invalid_client_metadata', /array of strings/);
  });

  it('requires redirect_uris for the authorization_code grant', async () => {
    await refused({ ...PUBLIC }, 'invalid_redirect_uri', /required/);
    await refused({ ...PUBLIC, redirect_uris: [] }, 'invalid_redirect_uri', /required/);
  });

  it.each([
    ['loopback http', 'http://127.0.0.1:8000/cb'],
    ['a private-use scheme', 'com.example.app:/cb'],
  ])('a web application may not register %s', async (_name, uri) => {
    await refused(
      { ...PUBLIC, application_type: 'web', redirect_uris: [uri] },
      'invalid_redirect_uri',
      /native/,
    );
  });
});

describe('invalid_client_metadata', () => {
  const base = { ...PUBLIC, redirect_uris: ['https://app.example/cb'] };
  it.each([
    ['an unknown scope', { scope: 'user:read admin:everything' }, /unknown scope "admin:everything"/],
    ['an internal scope spelling', { scope: 'user:fly' }, /unknown scope/],
    ['a scope that is not a string', { scope: ['user:read'] }, /space-separated/],
    ['the implicit grant', { grant_types: ['implicit'] }, /grant type "implicit"/],
    ['the password grant', { grant_types: ['password'] }, /grant type "password"/],
    ['response type token', { response_types: ['token'] }, /"token"/],
    ['private_key_jwt', { token_endpoint_auth_method: 'private_key_jwt' }, /not supported/],
    ['client_credentials for a public client', { grant_types: ['client_credentials'] }, /confidential/],
    ['an unknown application_type', { application_type: 'desktop' }, /application_type/],
    ['a client_name that is not a string', { client_name: 42 }, /client_name/],
    ['a javascript: logo_uri', { logo_uri: 'javascript:alert(1)' }, /logo_uri/],
    ['contacts that are not strings', { contacts: [1] }, /contacts/],
    ['a NUL character', { client_name: 'a\u0000b' }, /NUL/],
  ])('refuses %s', async (_name, extra, why) => {
    await refused({ ...base, ...extra }, 'invalid_client_metadata', why);
  });

  it('refuses a body that is not a JSON object', async () => {
    await refused([1, 2], 'invalid_client_metadata', /JSON object/);
  });
});

describe('malformed requests', () => {
  it('invalid JSON is invalid_request', async () => {
    const out = await register('{"redirect_uris": [');
    expect(out.res.status).toBe(400);
    expect(out.body).toMatchObject({ error: 'invalid_request' });
  });

  it('a body that is not JSON is invalid_request (415)', async () => {
    const res = await server.request('/oauth2/register', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'redirect_uris=https://app.example/cb',
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('a body over 64 KiB is a 413 invalid_request naming the limit', async () => {
    const out = await register({ redirect_uris: ['https://app.example/cb'], padding: 'x'.repeat(70 * 1024) });
    expect(out.res.status).toBe(413);
    expect(out.body).toEqual({
      error: 'invalid_request',
      error_description: 'The request body is larger than 64 KiB.',
    });
    expect(out.res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('a body of just under 64 KiB is read', async () => {
    const out = await register({
      ...PUBLIC,
      redirect_uris: ['https://app.example/cb'],
      padding: 'x'.repeat(60 * 1024),
    });
    expect(out.res.status).toBe(201);
  });
});
