import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UpstreamProvider } from './provider.ts';
import { requestToken, toLinkTokens } from './token-client.ts';

// A token endpoint that answers whatever the test says, to pin down EA-7's classification.
let server: Server;
let next: { status: number; type: string; body: string } = {
  status: 200,
  type: 'application/json',
  body: '{}',
};
let lastBody = '';
let url = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      lastBody = body;
      res.writeHead(next.status, { 'content-type': next.type }).end(next.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/token`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const provider = (): UpstreamProvider => ({
  id: 'p',
  type: 'oauth2',
  clientId: 'cid',
  clientSecret: 'sec',
  authUrl: 'http://x/authorize',
  tokenUrl: url,
  validateUrl: undefined,
  revokeUrl: undefined,
  revokeStyle: 'none',
  scopes: [],
  extraTokenKeys: ['installation_id'],
  deviceFlow: false,
  deviceCodeUrl: undefined,
  pkce: true,
  authUrlParams: {},
  noRefresh: false,
});

async function answer(status: number, body: unknown, type = 'application/json') {
  next = { status, type, body: typeof body === 'string' ? body : JSON.stringify(body) };
  return requestToken(provider(), { grant_type: 'refresh_token', refresh_token: 'rt' }, { timeoutMs: 2000 });
}

describe('requestToken classification (EA-7)', () => {
  it.each([
    [200, { error: 'bad_refresh_token' }, 'permanent'],
    [200, { error: 'incorrect_client_credentials' }, 'permanent'],
    [400, { error: 'invalid_grant' }, 'permanent'],
    [401, { error: 'invalid_client' }, 'permanent'],
    [400, { error: 'invalid_request' }, 'permanent'],
    [401, 'Unauthorized', 'permanent'],
    [403, { message: 'abuse' }, 'transient'],
    [429, { error: 'slow_down' }, 'transient'],
    [500, 'boom', 'transient'],
    [503, '<html>maintenance</html>', 'transient'],
    [404, 'nope', 'error'],
    [200, { token_type: 'bearer' }, 'error'],
  ] as const)('%i %o → %s', async (status, body, kind) => {
    const result = await answer(status, body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.failure.kind).toBe(kind);
  });

  it('reads GitHub-style form-encoded answers and keeps configured extra keys', async () => {
    const result = await answer(
      200,
      'access_token=gho_new&refresh_token=ghr_new&expires_in=28800&installation_id=42&token_type=bearer',
      'application/x-www-form-urlencoded; charset=utf-8',
    );
    expect(result).toEqual({
      ok: true,
      tokens: {
        accessToken: 'gho_new',
        refreshToken: 'ghr_new',
        expiresInSeconds: 28800,
        extra: { installation_id: '42' },
      },
    });
  });

  it('sends client credentials in the body and no scope when none is configured', async () => {
    await answer(200, { access_token: 'a' });
    const sent = new URLSearchParams(lastBody);
    expect(sent.get('client_id')).toBe('cid');
    expect(sent.get('client_secret')).toBe('sec');
    expect(sent.has('scope')).toBe(false);
  });

  it('a network failure is transient', async () => {
    const result = await requestToken(
      { ...provider(), tokenUrl: 'http://127.0.0.1:1/token' },
      { grant_type: 'refresh_token', refresh_token: 'rt' },
      { timeoutMs: 2000 },
    );
    expect(result.ok ? 'ok' : result.failure.kind).toBe('transient');
  });
});

describe('toLinkTokens', () => {
  it('keeps the previous refresh token when the provider sends none (RFC 6749 §6)', () => {
    const now = new Date(0);
    const t = toLinkTokens(
      { accessToken: 'a', refreshToken: undefined, expiresInSeconds: 60, extra: {} },
      now,
      'old',
    );
    expect(t).toMatchObject({ refreshToken: 'old', expiry: new Date(60_000) });
    expect(
      toLinkTokens({ accessToken: 'a', refreshToken: undefined, expiresInSeconds: undefined, extra: {} }, now)
        .expiry,
    ).toBeNull();
  });
});
