import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import {
  LOGIN_FORM_TTL_MS,
  loginFormToken,
  newLoginCookieValue,
  verifyLoginFormToken,
} from '../src/http/routes/login-csrf.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';

// The sign-in form under Referrer-Policy: no-referrer. Browsers then post it with
// `Origin: null` — as an attacker's sandboxed iframe would — so such a post must carry the
// form token bound to the browser's pre-login cookie. A foreign Origin is refused whatever
// it carries.

const ACCESS = 'http://127.0.0.1:3000';
const PASSWORD = 'correct horse';
const FORM = 'application/x-www-form-urlencoded';
const db = useTestDatabase();
let server: TestServer;
let kit: StoreKit;
let ada: User;

beforeAll(async () => {
  kit = storeKit(db.url);
  ada = await kit.user('ada', { password: PASSWORD });
  server = await startTestServer(db.url, { config: { accessUrl: ACCESS, rateLimitApi: 0 } });
});
afterAll(async () => {
  await server.close();
  await kit.close();
});

interface LoginForm {
  /** The pre-login cookie, as a Cookie header. */
  readonly cookie: string;
  readonly token: string;
}

function cookieOf(res: Response, name: string): string | undefined {
  return res.headers
    .getSetCookie()
    .map((c) => new RegExp(`^${name}=([^;]*)`).exec(c)?.[1])
    .find((v) => v !== undefined);
}

function tokenIn(html: string): string {
  const token = /<input type="hidden" name="csrf_token" value="([^"]+)">/.exec(html)?.[1];
  if (!token) throw new Error('no csrf_token in the page');
  return token;
}

/** A browser opening the sign-in page: its pre-login cookie and the form's token. */
async function openLogin(cookie?: string): Promise<LoginForm> {
  const res = await server.request('/login?redirect=/', { headers: cookie ? { cookie } : {} });
  expect(res.status).toBe(200);
  const value = cookieOf(res, 'latchkey_login') as string;
  return { cookie: `latchkey_login=${value}`, token: tokenIn(await res.text()) };
}

function postLogin(headers: Record<string, string>, fields: Record<string, string> = {}): Promise<Response> {
  return server.request('/login', {
    method: 'POST',
    headers: { 'content-type': FORM, ...headers },
    body: new URLSearchParams({ email: ada.email, password: PASSWORD, redirect: '/', ...fields }).toString(),
    redirect: 'manual',
  });
}

const signedIn = (res: Response) => res.status === 303 && cookieOf(res, 'latchkey_session') !== undefined;

it('the page is sent with no-referrer and sets a pre-login cookie the form token is bound to', async () => {
  const res = await server.request('/login');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  const set = res.headers.getSetCookie().find((c) => c.startsWith('latchkey_login='));
  expect(set).toMatch(
    /^latchkey_login=[A-Za-z0-9_-]{43}; Path=\/login; HttpOnly; SameSite=Lax; Max-Age=3600$/,
  );
  expect(tokenIn(await res.text())).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
});

it('a browser that already holds the cookie keeps it, so forms in two tabs both work', async () => {
  const first = await openLogin();
  const second = await openLogin(first.cookie);
  expect(second.cookie).toBe(first.cookie);
  expect(
    signedIn(await postLogin({ origin: 'null', cookie: first.cookie }, { csrf_token: first.token })),
  ).toBe(true);
  expect(
    signedIn(await postLogin({ origin: 'null', cookie: second.cookie }, { csrf_token: second.token })),
  ).toBe(true);
});

describe('a post with Origin: null (the page under no-referrer, or a page hiding its origin)', () => {
  it('signs in with the form token and the cookie it was made for', async () => {
    const form = await openLogin();
    const res = await postLogin({ origin: 'null', cookie: form.cookie }, { csrf_token: form.token });
    expect(signedIn(res)).toBe(true);
    expect(res.headers.get('location')).toBe('/');
  });

  it('is refused without a token, and the page offers a fresh form that works', async () => {
    const form = await openLogin();
    const res = await postLogin({ origin: 'null', cookie: form.cookie });
    expect(res.status).toBe(403);
    expect(cookieOf(res, 'latchkey_session')).toBeUndefined();
    const html = await res.text();
    expect(html).toContain('This sign-in form has expired or was not shown by Latchkey');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const retry = await postLogin({ origin: 'null', cookie: form.cookie }, { csrf_token: tokenIn(html) });
    expect(signedIn(retry)).toBe(true);
  });

  it('is refused when the browser sends no pre-login cookie (a cross-site post carries no Lax cookie)', async () => {
    const form = await openLogin();
    const res = await postLogin({ origin: 'null' }, { csrf_token: form.token });
    expect(res.status).toBe(403);
    expect(cookieOf(res, 'latchkey_session')).toBeUndefined();
  });

  it("is refused with a token made for another browser's cookie (an attacker's own visit)", async () => {
    const attacker = await openLogin();
    const victim = await openLogin();
    const res = await postLogin({ origin: 'null', cookie: victim.cookie }, { csrf_token: attacker.token });
    expect(res.status).toBe(403);
    expect(cookieOf(res, 'latchkey_session')).toBeUndefined();
  });

  it('is refused with a forged or malformed token', async () => {
    const form = await openLogin();
    for (const token of [`${Date.now()}.${'A'.repeat(43)}`, 'x', '', `${form.token}x`]) {
      const res = await postLogin({ origin: 'null', cookie: form.cookie }, { csrf_token: token });
      expect(res.status, token).toBe(403);
    }
  });

  it('lets a signed-in user sign in again (prompt=login): the session cookie does not trip the CSRF check', async () => {
    const first = await postLogin({ origin: ACCESS });
    const session = `latchkey_session=${cookieOf(first, 'latchkey_session')}`;
    const form = await openLogin();
    const res = await postLogin(
      { origin: 'null', cookie: `${session}; ${form.cookie}` },
      { csrf_token: form.token },
    );
    expect(signedIn(res)).toBe(true);
    const refused = await postLogin({ origin: 'null', cookie: `${session}; ${form.cookie}` });
    expect(refused.status).toBe(403);
  });
});

describe('other origins', () => {
  it('a post from another site is refused even with a valid cookie and token', async () => {
    const form = await openLogin();
    const res = await postLogin(
      { origin: 'https://evil.example', cookie: form.cookie },
      { csrf_token: form.token },
    );
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Cross-site sign-in refused.');
    expect(cookieOf(res, 'latchkey_session')).toBeUndefined();
  });

  it('a post from this origin is accepted on the Origin alone; a client sending no Origin is no browser', async () => {
    expect(signedIn(await postLogin({ origin: ACCESS }))).toBe(true);
    expect(signedIn(await postLogin({}))).toBe(true);
  });
});

describe('the form token', () => {
  it('expires after an hour, tolerates a minute of clock skew, and is bound to its cookie', () => {
    const cookie = newLoginCookieValue();
    const issued = 1_800_000_000_000;
    const token = loginFormToken(cookie, issued);
    expect(verifyLoginFormToken(token, cookie, issued)).toBe(true);
    expect(verifyLoginFormToken(token, cookie, issued + LOGIN_FORM_TTL_MS)).toBe(true);
    expect(verifyLoginFormToken(token, cookie, issued + LOGIN_FORM_TTL_MS + 1)).toBe(false);
    expect(verifyLoginFormToken(token, cookie, issued - 60_000)).toBe(true);
    expect(verifyLoginFormToken(token, cookie, issued - 60_001)).toBe(false);
    expect(verifyLoginFormToken(token, newLoginCookieValue(), issued)).toBe(false);
    expect(verifyLoginFormToken(token, undefined, issued)).toBe(false);
    expect(verifyLoginFormToken(token, 'short', issued)).toBe(false);
    // The issue time is under the MAC: moving it forward invalidates the token.
    const [, mac] = token.split('.');
    expect(verifyLoginFormToken(`${issued + 1000}.${mac}`, cookie, issued + 1000)).toBe(false);
  });
});
