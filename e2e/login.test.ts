import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hashPassword } from '../src/apikeys/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/kit/database.ts';
import { startTestServer, type TestServer } from '../test/kit/server.ts';
import { storeKit } from '../test/kit/store.ts';
import { freePort } from '../test/kit/tcp-proxy.ts';
import { launchChromium } from './kit/browser.ts';

const SHOTS = new URL('./screenshots/', import.meta.url);
let db: TestDatabase;
let server: TestServer;
let browser: Browser;
let page: Page;
/** Another site (localhost, not 127.0.0.1: a different site for cookies), serving `attack`. */
let evil: Server;
let evilUrl: string;
let attack = '';

beforeAll(async () => {
  db = await createTestDatabase();
  const kit = storeKit(db.url);
  await kit.raw.insertUser({
    email: 'ada@example.com',
    username: 'ada',
    hashedPassword: await hashPassword('correct horse'),
  });
  // The attacker's own account, which login CSRF would sign the victim in to.
  await kit.raw.insertUser({
    email: 'mallory@example.com',
    username: 'mallory',
    hashedPassword: await hashPassword('mallory pass'),
  });
  await kit.close();
  evil = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(attack);
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  evilUrl = `http://localhost:${(evil.address() as AddressInfo).port}/`;
  // The page's origin must be the access URL: cookie-authenticated posts are checked against it.
  const port = await freePort();
  server = await startTestServer(db.url, {
    config: { httpAddress: { host: '127.0.0.1', port }, accessUrl: `http://127.0.0.1:${port}` },
  });
  browser = await launchChromium();
  page = await browser.newPage();
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await new Promise((resolve) => evil?.close(resolve));
  await db?.drop();
});

/** The Origin header of each sign-in form post the page makes (iframes included). */
function watchLoginPosts(p: Page): Array<string | undefined> {
  const origins: Array<string | undefined> = [];
  p.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/login') origins.push(r.headers().origin);
  });
  return origins;
}

/** The sign-in form's fields as an attacker's page would post them, with mallory's password. */
function malloryForm(target: string, extra = ''): string {
  return `<form method="post" action="${target}/login">
<input name="email" value="mallory@example.com"><input name="password" value="mallory pass">
<input name="redirect" value="/">${extra}</form><script>document.forms[0].submit()</script>`;
}

it('signs in with the form, lands on the redirect target, and signs out', async () => {
  const cspViolations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  const posts = watchLoginPosts(page);
  const res = await page.goto(`${server.url}/login?redirect=/`);
  expect(res?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
  // The URL may carry an authorization request: it must not leak to where the user goes next.
  expect(res?.headers()['referrer-policy']).toBe('no-referrer');
  await expect(page.getByRole('heading', { name: 'Sign in to Latchkey' }).isVisible()).resolves.toBe(true);

  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  expect(await page.getByRole('alert').textContent()).toBe('Incorrect email or password.');
  expect(await page.getByLabel('Email').inputValue()).toBe('ada@example.com');
  await page.screenshot({ path: new URL('login-error.png', SHOTS).pathname });

  await page.getByLabel('Password').fill('correct horse');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Signed in as ada' }).waitFor();
  expect(new URL(page.url()).pathname).toBe('/');
  const cookie = (await page.context().cookies()).find((c) => c.name === 'latchkey_session');
  expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
  // Under no-referrer Chromium posts the form with `Origin: null`: the form token, bound to
  // the pre-login cookie, is what let these posts in.
  expect(posts).toEqual(['null', 'null']);
  expect((await page.context().cookies()).find((c) => c.name === 'latchkey_login')).toMatchObject({
    httpOnly: true,
    sameSite: 'Lax',
    path: '/login',
  });
  await page.screenshot({ path: new URL('home.png', SHOTS).pathname });

  // Signed in, the login page forwards to where the redirect parameter points.
  await page.goto(`${server.url}/login?redirect=/api/v1/users/me`);
  expect(JSON.parse((await page.textContent('body')) ?? '{}')).toMatchObject({ username: 'ada' });

  await page.goto(`${server.url}/`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  expect((await page.context().cookies()).find((c) => c.name === 'latchkey_session')).toBeUndefined();
  await page.screenshot({ path: new URL('login.png', SHOTS).pathname });
  expect(cspViolations).toEqual([]);
});

it('never redirects off-site after signing in', async () => {
  await page.goto(`${server.url}/login?redirect=//evil.example/phish`);
  expect(await page.locator('input[name="redirect"]').inputValue()).toBe('/');
});

it('refuses a sign-in form posted from another site, whether it shows its origin or hides it', async () => {
  const context = await browser.newContext();
  const victim = await context.newPage();
  const posts = watchLoginPosts(victim);
  // The victim has seen the sign-in page before: the browser holds a pre-login cookie.
  await victim.goto(`${server.url}/login`);
  const signedIn = async () =>
    (await context.cookies(server.url)).some((c) => c.name === 'latchkey_session' && c.value !== '');

  // A plain cross-site form post: Origin names the other site.
  attack = malloryForm(server.url);
  await victim.goto(evilUrl);
  await victim.getByText('Cross-site sign-in refused.').waitFor();
  expect(posts.at(-1)).toBe(new URL(evilUrl).origin);
  expect(await signedIn()).toBe(false);

  // Hiding the origin (Origin: null), with a form token from the attacker's own visit: the
  // browser sends no Lax cookie with a cross-site post, so the token is bound to nothing it
  // brought, and the post is refused. Two ways a page hides its origin: its own
  // no-referrer policy, and a sandboxed frame (an opaque origin) posting to the top window.
  const own = await fetch(`${server.url}/login`);
  const token = /name="csrf_token" value="([^"]+)"/.exec(await own.text())?.[1] ?? '';
  const withToken = `<input name="csrf_token" value="${token}">`;
  const sandboxed = malloryForm(server.url, withToken).replace('<form ', '<form target="_top" ');
  for (const hiding of [
    `<meta name="referrer" content="no-referrer">${malloryForm(server.url, withToken)}`,
    `<iframe sandbox="allow-forms allow-scripts allow-top-navigation" srcdoc="${sandboxed.replaceAll('"', '&quot;')}"></iframe>`,
  ]) {
    attack = hiding;
    await victim.goto(evilUrl);
    await victim.getByText('This sign-in form has expired or was not shown by Latchkey').waitFor();
    expect(posts.at(-1)).toBe('null');
    expect(await signedIn()).toBe(false);
  }
  await context.close();
});
