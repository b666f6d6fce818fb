import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/apikeys/index.ts';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import {
  type Answer,
  exchange,
  type Flow,
  ISSUER,
  LOOPBACK_REDIRECT,
  pkce,
  REDIRECT,
  startFlow,
  type TestApp,
} from './kit/oauth2-flow.ts';

// OA-3: the authorization endpoint and the consent page, as a browser sees them.

const db = useTestDatabase();
let flow: Flow;
let ada: User;

beforeAll(async () => {
  flow = await startFlow(db.url);
  ada = await flow.kit.user('ada');
});
afterAll(() => flow.close());

function request(client: TestApp, extra: Record<string, string | undefined> = {}) {
  return {
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: client.app.redirect_uris[0],
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
}

const locationOf = (res: Response) => new URL(res.headers.get('location') as string);

describe('the consent page', () => {
  it('names the client, where the answer goes and what it may do, with Allow and Deny', async () => {
    const client = await flow.createApp({ name: 'Agent <Smith>' });
    const cookie = await flow.session(ada);
    const res = await flow.authorize(
      request(client, { scope: 'user:read api_key:read offline_access' }),
      cookie,
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Allow Agent &lt;Smith&gt; to use your account?');
    expect(html).toContain('<strong>client.example</strong>');
    expect(html).toContain('Read user objects.');
    expect(html).toContain('Read api key objects.');
    expect(html).toContain('refresh tokens');
    expect(html).toContain('registered itself');
    expect(html).toMatch(/<button type="submit" name="decision" value="allow">Allow<\/button>/);
    expect(html).toMatch(/<button type="submit" name="decision" value="deny">Deny<\/button>/);
    // No third-party resources: every src/href is on this server.
    for (const m of html.matchAll(/(?:src|href)="([^"]*)"/g)) expect(m[1]).toMatch(/^\//);
  });

  it('says "full access" for an unrestricted grant', async () => {
    const client = await flow.createApp();
    const res = await flow.authorize(request(client), await flow.session(ada));
    const html = await res.text();
    expect(html).toContain('Full access: everything your roles allow.');
  });

  it('cannot be framed, leaks no referrer and is never cached', async () => {
    const client = await flow.createApp();
    const res = await flow.authorize(request(client), await flow.session(ada));
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    // The form may end at the client's redirect URI (the answer to "Allow" is a redirect there).
    expect(res.headers.get('content-security-policy')).toContain("form-action 'self' https://client.example");
  });

  it('names a resource server other than Latchkey', async () => {
    const client = await flow.createApp();
    const res = await flow.authorize(
      request(client, { resource: 'https://api.example/mcp' }),
      await flow.session(ada),
    );
    expect(await res.text()).toContain('The access is for <strong>https://api.example/mcp</strong>');
  });
});

describe('the answer', () => {
  it('Allow sends the browser back with code, state byte for byte, and iss', async () => {
    const client = await flow.createApp();
    const cookie = await flow.session(ada);
    const state = 'a b+c&d=e%20f/ü?#;"\'';
    const page = await flow.authorize(request(client, { state }), cookie);
    const res = await flow.decide(await page.text(), 'allow', cookie);
    expect(res.status).toBe(303);
    const to = locationOf(res);
    expect(`${to.origin}${to.pathname}`).toBe(REDIRECT);
    expect(to.searchParams.get('code')).toMatch(/^lkac_/);
    expect(to.searchParams.get('state')).toBe(state);
    expect(to.searchParams.get('iss')).toBe(ISSUER);
  });

  it('without state, sends none back, and still sends iss', async () => {
    const client = await flow.createApp();
    const got = await flow.code(client, ada, { state: undefined });
    expect(got.location.searchParams.has('state')).toBe(false);
    expect(got.location.searchParams.get('iss')).toBe(ISSUER);
  });

  it('Deny sends access_denied with state and iss', async () => {
    const client = await flow.createApp();
    const cookie = await flow.session(ada);
    const page = await flow.authorize(request(client, { state: 'xyz' }), cookie);
    const res = await flow.decide(await page.text(), 'deny', cookie);
    const to = locationOf(res);
    expect(Object.fromEntries(to.searchParams)).toMatchObject({
      error: 'access_denied',
      state: 'xyz',
      iss: ISSUER,
    });
    expect(to.searchParams.has('code')).toBe(false);
  });

  it('keeps the redirect URI’s own query parameters', async () => {
    const client = await flow.createApp({ redirectUris: ['https://client.example/cb?tenant=7'] });
    const got = await flow.code(client, ada);
    expect(got.location.searchParams.get('tenant')).toBe('7');
    await exchange(flow, client, got);
  });
});

describe('redirect URIs', () => {
  it('lets a loopback redirect URI vary in port only (RFC 8252 §7.3)', async () => {
    const client = await flow.createApp({ redirectUris: [LOOPBACK_REDIRECT] });
    const got = await flow.code(client, ada, { redirect_uri: 'http://127.0.0.1:51234/callback' });
    expect(got.location.host).toBe('127.0.0.1:51234');
    // The token request repeats the URI as sent.
    const tokens = await exchange(flow, client, got, { redirect_uri: 'http://127.0.0.1:51234/callback' });
    expect(tokens.access_token).toBeTruthy();
    const portless = await flow.createApp({ redirectUris: ['http://[::1]/cb'] });
    expect((await flow.code(portless, ada, { redirect_uri: 'http://[::1]:4000/cb' })).location.port).toBe(
      '4000',
    );
  });

  it('may be omitted when the client registered exactly one', async () => {
    const client = await flow.createApp();
    const got = await flow.code(client, ada, { redirect_uri: undefined });
    expect(`${got.location.origin}${got.location.pathname}`).toBe(REDIRECT);
    const res = await flow.token(client, {
      grant_type: 'authorization_code',
      code: got.code,
      code_verifier: got.verifier,
    });
    expect(res.status).toBe(200);
  });
});

describe('signing in', () => {
  it('sends a visitor to /login and, once signed in, back to the same request', async () => {
    await flow.kit.raw.insertUser({
      email: 'bea@example.com',
      username: 'bea',
      hashedPassword: await hashPassword('correct horse'),
    });
    const client = await flow.createApp();
    const params = request(client, { state: 's1' });
    const res = await flow.authorize(params);
    expect(res.status).toBe(303);
    const login = new URL(res.headers.get('location') as string, ISSUER);
    expect(login.pathname).toBe('/login');
    const back = login.searchParams.get('redirect') as string;
    expect(back.startsWith('/oauth2/authorize?')).toBe(true);
    const signIn = await flow.post(
      '/login',
      { email: 'bea@example.com', password: 'correct horse', redirect: back },
      { origin: ISSUER },
    );
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get('location')).toBe(back);
    const cookie = (signIn.headers.get('set-cookie') as string).split(';')[0] as string;
    const consent = await flow.server.request(back, { headers: { cookie }, redirect: 'manual' });
    expect(consent.status).toBe(200);
    expect(await consent.text()).toContain('use your account?');
  });

  it('does not take a Bearer API key as a browser session', async () => {
    const client = await flow.createApp();
    const tokens = await exchange(flow, client, await flow.code(client, ada));
    const res = await flow.server.request(
      `/oauth2/authorize?${new URLSearchParams(request(client) as Record<string, string>)}`,
      {
        headers: { authorization: `Bearer ${tokens.access_token}` },
        redirect: 'manual',
      },
    );
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/login\?redirect=/);
  });
});

describe('remembered consent', () => {
  it('skips the page for what the user already allowed, and asks again for more', async () => {
    const client = await flow.createApp();
    const cookie = await flow.session(ada);
    const first = await flow.authorize(request(client, { scope: 'user:read api_key:read' }), cookie);
    expect(first.status).toBe(200);
    await flow.decide(await first.text(), 'allow', cookie);
    // Covered by what was allowed (a subset): straight back with a code.
    const again = await flow.authorize(request(client, { scope: 'user:read', state: 'q' }), cookie);
    expect(again.status).toBe(303);
    expect(locationOf(again).searchParams.get('code')).toMatch(/^lkac_/);
    expect(locationOf(again).searchParams.get('state')).toBe('q');
    // More than was allowed: the page again.
    const more = await flow.authorize(request(client, { scope: 'user:read user:update' }), cookie);
    expect(more.status).toBe(200);
    // Deny remembers nothing.
    await flow.decide(await more.text(), 'deny', cookie);
    expect((await flow.authorize(request(client, { scope: 'user:update' }), cookie)).status).toBe(200);
  });

  it('is per user', async () => {
    const client = await flow.createApp();
    await flow.code(client, ada, { scope: 'user:read' });
    const cy = await flow.kit.user('cy');
    const res = await flow.authorize(request(client, { scope: 'user:read' }), await flow.session(cy));
    expect(res.status).toBe(200);
  });
});

describe('resource (RFC 8707)', () => {
  it('binds the token to the access URL when none is sent, and to the resource when one is', async () => {
    const client = await flow.createApp();
    const introspector = await flow.createApp({ origin: 'admin', method: 'client_secret_post' });
    const aud = async (extra: Record<string, string>) => {
      const tokens = await exchange(flow, client, await flow.code(client, ada, extra));
      const res = await flow.post('/oauth2/introspect', {
        token: tokens.access_token,
        client_id: introspector.clientId,
        client_secret: introspector.secret as string,
      });
      return ((await res.json()) as Answer).aud;
    };
    expect(await aud({})).toBe(`${ISSUER}/`);
    expect(await aud({ resource: 'HTTP://127.0.0.1:3000' })).toBe(`${ISSUER}/`);
    expect(await aud({ resource: `${ISSUER}/mcp` })).toBe(`${ISSUER}/mcp`);
    expect(await aud({ resource: 'https://API.example:443/mcp' })).toBe('https://api.example/mcp');
  });
});
