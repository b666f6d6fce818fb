import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { exchange, type Flow, ISSUER, pkce, REDIRECT, startFlow, type TestApp } from './kit/oauth2-flow.ts';

// `prompt` at the authorization endpoint (OpenID Connect Core §3.1.2.1): none answers
// without a page, consent always shows the consent page, login makes a signed-in user
// sign in again — and the way back from signing in does not loop.

const PASSWORD = 'correct horse';
const db = useTestDatabase();
let flow: Flow;
let ada: User;

beforeAll(async () => {
  flow = await startFlow(db.url);
  ada = await flow.kit.user('ada', { password: PASSWORD });
});
afterAll(() => flow.close());

function request(client: TestApp, extra: Record<string, string | undefined> = {}) {
  return {
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: REDIRECT,
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
    state: 'st-prompt',
    ...extra,
  };
}

/** The client's redirect URI the answer went to, with its parameters. */
function answered(res: Response): URLSearchParams {
  expect(res.status).toBe(303);
  const to = new URL(res.headers.get('location') as string);
  expect(`${to.origin}${to.pathname}`).toBe(REDIRECT);
  expect(to.searchParams.get('state')).toBe('st-prompt');
  expect(to.searchParams.get('iss')).toBe(ISSUER);
  return to.searchParams;
}

/** A client the user already allowed `scope`, through the consent page. */
async function consented(scope: string): Promise<{ client: TestApp; cookie: string }> {
  const client = await flow.createApp({ scope: 'user:read api_key:read' });
  const got = await flow.code(client, ada, { scope });
  return { client, cookie: got.cookie };
}

const setCookies = (res: Response) => res.headers.getSetCookie();
const cookieValue = (res: Response, name: string) =>
  setCookies(res)
    .map((c) => new RegExp(`^${name}=([^;]*)`).exec(c)?.[1])
    .find((v) => v !== undefined);

describe('prompt=none', () => {
  it('not signed in: login_required back to the client, never the login page', async () => {
    const client = await flow.createApp();
    const params = answered(await flow.authorize(request(client, { prompt: 'none' })));
    expect(params.get('error')).toBe('login_required');
    expect(params.has('code')).toBe(false);
  });

  it('signed in, consent not remembered: consent_required, never the consent page', async () => {
    const client = await flow.createApp();
    const cookie = await flow.session(ada);
    const params = answered(await flow.authorize(request(client, { prompt: 'none' }), cookie));
    expect(params.get('error')).toBe('consent_required');
    expect(params.has('code')).toBe(false);
  });

  it('consent remembered for less than the request asks: consent_required', async () => {
    const { client, cookie } = await consented('user:read');
    const res = await flow.authorize(request(client, { prompt: 'none', scope: 'api_key:read' }), cookie);
    expect(answered(res).get('error')).toBe('consent_required');
  });

  it('consent remembered: the code at once, and it works', async () => {
    const { client, cookie } = await consented('user:read');
    const p = pkce();
    const res = await flow.authorize(
      request(client, { prompt: 'none', scope: 'user:read', code_challenge: p.challenge }),
      cookie,
    );
    const code = answered(res).get('code');
    expect(code).toBeTruthy();
    const tokens = await exchange(flow, client, { code: code as string, verifier: p.verifier });
    expect(tokens.scope).toBe('user:read');
  });
});

describe('prompt=consent', () => {
  it('shows the consent page even when consent is remembered; without it the code comes at once', async () => {
    const { client, cookie } = await consented('user:read');
    expect(answered(await flow.authorize(request(client, { scope: 'user:read' }), cookie)).has('code')).toBe(
      true,
    );
    const res = await flow.authorize(request(client, { scope: 'user:read', prompt: 'consent' }), cookie);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('to use your account?');
    // The page's form works as usual (prompt is not re-posted; the decision is made).
    const allowed = await flow.decide(html, 'allow', cookie);
    expect(answered(allowed).has('code')).toBe(true);
  });
});

describe('refused prompt values', () => {
  it.each([['none consent'], ['login none'], ['select_account'], ['create'], ['NONE']])(
    'prompt=%s is invalid_request, with state and iss',
    async (prompt) => {
      const client = await flow.createApp();
      const cookie = await flow.session(ada);
      const params = answered(await flow.authorize(request(client, { prompt }), cookie));
      expect(params.get('error')).toBe('invalid_request');
      expect(params.get('error_description')).toContain('prompt');
    },
  );

  it('prompt sent twice is invalid_request', async () => {
    const client = await flow.createApp();
    const query = new URLSearchParams(request(client, { prompt: 'none' }));
    query.append('prompt', 'consent');
    const res = await flow.server.request(`/oauth2/authorize?${query}`, { redirect: 'manual' });
    expect(answered(res).get('error')).toBe('invalid_request');
  });

  it('login and consent together are honoured, not refused', async () => {
    const client = await flow.createApp();
    const res = await flow.authorize(request(client, { prompt: 'login consent' }), await flow.session(ada));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/login\?/);
  });

  it('a bad prompt with an unverified redirect URI is an error page, not a redirect', async () => {
    const client = await flow.createApp();
    const res = await flow.authorize(
      request(client, { prompt: 'none consent', redirect_uri: 'https://evil.example/cb' }),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });
});

describe('prompt=login', () => {
  const FORM = 'application/x-www-form-urlencoded';

  it('a signed-in user signs in again, comes back once, and the consent page follows', async () => {
    const client = await flow.createApp({ name: 'Fresh Login App' });
    const old = await flow.session(ada);
    const params = request(client, { prompt: 'login' });
    const url = `/oauth2/authorize?${new URLSearchParams(params)}`;

    // Asked to sign in again, although signed in.
    const asked = await flow.server.request(url, { headers: { cookie: old }, redirect: 'manual' });
    expect(asked.status).toBe(303);
    const toLogin = asked.headers.get('location') as string;
    expect(toLogin).toBe(`/login?redirect=${encodeURIComponent(url)}&prompt=login`);
    const marker = cookieValue(asked, 'latchkey_reauth');
    expect(marker).toMatch(/.+/);
    expect(setCookies(asked)[0]).toContain('Path=/oauth2/authorize');
    expect(setCookies(asked)[0]).toContain('HttpOnly');

    // The login page shows its form to the signed-in user instead of forwarding them.
    const page = await flow.server.request(toLogin, { headers: { cookie: old }, redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('sign in again');

    // Coming back without having signed in does not skip it.
    const skipped = await flow.server.request(url, {
      headers: { cookie: `${old}; latchkey_reauth=${marker}` },
      redirect: 'manual',
    });
    expect(skipped.headers.get('location')).toMatch(/^\/login\?/);

    // Signing in (the form answers 303 back to the authorization request)...
    const signedIn = await flow.server.request('/login', {
      method: 'POST',
      headers: { cookie: old, origin: ISSUER, 'content-type': FORM },
      body: new URLSearchParams({ email: ada.email, password: PASSWORD, redirect: url }).toString(),
      redirect: 'manual',
    });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('location')).toBe(url);
    const fresh = `latchkey_session=${cookieValue(signedIn, 'latchkey_session')}`;

    // ...and the same URL, prompt=login and all, now goes on to the consent page: no loop.
    const back = await flow.server.request(url, {
      headers: { cookie: `${fresh}; latchkey_reauth=${marker}` },
      redirect: 'manual',
    });
    expect(back.status).toBe(200);
    expect(await back.text()).toContain('Allow Fresh Login App to use your account?');
    // The marker is spent: the next prompt=login asks again.
    expect(cookieValue(back, 'latchkey_reauth')).toBe('');
    const again = await flow.server.request(url, { headers: { cookie: fresh }, redirect: 'manual' });
    expect(again.headers.get('location')).toMatch(/^\/login\?/);

    // Signing in again ended the session the browser had before.
    const me = await flow.server.request('/api/v1/users/me', { headers: { cookie: old } });
    expect(me.status).toBe(401);
  });

  it('not signed in: the usual sign-in, and the request goes on once signed in', async () => {
    const client = await flow.createApp({ name: 'Anonymous Start' });
    const url = `/oauth2/authorize?${new URLSearchParams(request(client, { prompt: 'login' }))}`;
    const asked = await flow.server.request(url, { redirect: 'manual' });
    expect(asked.headers.get('location')).toMatch(/^\/login\?/);
    const marker = cookieValue(asked, 'latchkey_reauth');
    const back = await flow.server.request(url, {
      headers: { cookie: `${await flow.session(ada)}; latchkey_reauth=${marker}` },
      redirect: 'manual',
    });
    expect(back.status).toBe(200);
    expect(await back.text()).toContain('Allow Anonymous Start to use your account?');
  });

  it('remembered consent still answers at once after signing in again', async () => {
    const { client, cookie } = await consented('user:read');
    const url = `/oauth2/authorize?${new URLSearchParams(request(client, { prompt: 'login', scope: 'user:read' }))}`;
    const asked = await flow.server.request(url, { headers: { cookie }, redirect: 'manual' });
    const marker = cookieValue(asked, 'latchkey_reauth');
    const back = await flow.server.request(url, {
      headers: { cookie: `${await flow.session(ada)}; latchkey_reauth=${marker}` },
      redirect: 'manual',
    });
    expect(answered(back).has('code')).toBe(true);
  });
});

it('the metadata lists the prompt values supported', async () => {
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    const body = (await (await flow.server.request(path)).json()) as Record<string, unknown>;
    expect(body.prompt_values_supported).toEqual(['none', 'login', 'consent']);
  }
});
