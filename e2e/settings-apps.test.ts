import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { OAuth2App } from '../src/db/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/kit/database.ts';
import { pkce } from '../test/kit/oauth2-flow.ts';
import { startTestServer, type TestServer } from '../test/kit/server.ts';
import { storeKit } from '../test/kit/store.ts';
import { freePort } from '../test/kit/tcp-proxy.ts';
import { launchChromium } from './kit/browser.ts';
import { type CallbackPage, insertNativeApp, startCallbackPage } from './kit/oauth-client.ts';

// /settings/apps in Chromium: authorize an app through the consent page, see it listed
// (name, where it receives access, what it may do, since when), revoke it with its button,
// see it gone, and its tokens refused.

const SHOTS = new URL('./screenshots/', import.meta.url);
let db: TestDatabase;
let server: TestServer;
let callback: CallbackPage;
let callbackUrl: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let agent: OAuth2App;
let keeper: OAuth2App;
const cspViolations: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const kit = storeKit(db.url);
  await kit.user('ada', { password: 'correct horse' });
  agent = await insertNativeApp(kit, 'settings-agent', 'Revoked Agent');
  keeper = await insertNativeApp(kit, 'settings-keeper', 'Kept Agent');
  await kit.close();

  callback = await startCallbackPage();
  callbackUrl = callback.url;

  // The page's origin must be the access URL: the revoke form's Origin is checked against it.
  const port = await freePort();
  server = await startTestServer(db.url, {
    config: { httpAddress: { host: '127.0.0.1', port }, accessUrl: `http://127.0.0.1:${port}` },
  });
  browser = await launchChromium();
  context = await browser.newContext();
  page = await context.newPage();
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await callback?.close();
  await db?.drop();
});

/** Authorizes `app` in the browser (signing in if asked) and exchanges the code for tokens. */
async function authorize(app: OAuth2App, scope: string) {
  const { verifier, challenge } = pkce();
  const url = new URL('/oauth2/authorize', server.url);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: app.client_id,
    redirect_uri: callbackUrl,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'st',
    scope,
  }).toString();
  await page.goto(url.href);
  if (new URL(page.url()).pathname === '/login') {
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('correct horse');
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await page.getByRole('heading', { name: `Allow ${app.name} to use your account?` }).waitFor();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.getByRole('heading', { name: 'Back at the app' }).waitFor();
  const code = new URL(page.url()).searchParams.get('code') as string;
  const res = await fetch(`${server.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: app.client_id,
      code,
      code_verifier: verifier,
      redirect_uri: callbackUrl,
    }).toString(),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { access_token: string; refresh_token: string };
}

const me = (token: string) =>
  fetch(`${server.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });

const refresh = (app: OAuth2App, token: string) =>
  fetch(`${server.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: app.client_id,
      refresh_token: token,
    }).toString(),
  });

it('sends a visitor who is not signed in to sign in, and back to the page', async () => {
  await page.goto(`${server.url}/settings/apps`);
  expect(new URL(page.url()).pathname).toBe('/login');
  expect(new URL(page.url()).searchParams.get('redirect')).toBe('/settings/apps');
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel('Password').fill('correct horse');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Authorized apps' }).waitFor();
  expect(await page.locator('main').textContent()).toContain('You have not authorized any apps.');
});

it('lists the apps the user authorized; "Revoke" removes one and its tokens stop working', async () => {
  const revoked = await authorize(agent, 'user:read offline_access');
  const kept = await authorize(keeper, 'user:read api_key:read');
  expect((await me(revoked.access_token)).status).toBe(200);

  const res = await page.goto(`${server.url}/settings/apps`);
  expect(res?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(res?.headers()['x-frame-options']).toBe('DENY');
  const entry = page.getByRole('region', { name: 'Revoked Agent' });
  await entry.waitFor();
  const text = (await entry.textContent()) ?? '';
  expect(text).toContain('Receives access at 127.0.0.1');
  expect(text).toContain('Read user objects.');
  expect(text).toMatch(/Authorized \d+ seconds? ago/);
  expect(await page.getByRole('region', { name: 'Kept Agent' }).textContent()).toContain(
    'Read api key objects.',
  );
  await page.screenshot({ path: new URL('settings-apps.png', SHOTS).pathname });

  await entry.getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('heading', { name: 'Authorized apps' }).waitFor();
  expect(new URL(page.url()).pathname).toBe('/settings/apps');
  await expect(page.getByRole('region', { name: 'Revoked Agent' }).count()).resolves.toBe(0);
  await expect(page.getByRole('region', { name: 'Kept Agent' }).count()).resolves.toBe(1);
  await page.screenshot({ path: new URL('settings-apps-revoked.png', SHOTS).pathname });

  // The revoked app's tokens are refused at once; the other app's still work.
  expect((await me(revoked.access_token)).status).toBe(401);
  const refreshed = await refresh(agent, revoked.refresh_token);
  expect(refreshed.status).toBe(400);
  expect(await refreshed.json()).toMatchObject({ error: 'invalid_grant' });
  expect((await me(kept.access_token)).status).toBe(200);

  // Authorizing it again asks for consent again: nothing of the old consent is remembered.
  await page.goto(`${server.url}/`);
  await page.getByRole('link', { name: 'Authorized apps' }).click();
  await page.getByRole('heading', { name: 'Authorized apps' }).waitFor();
  await authorize(agent, 'user:read');
  expect(cspViolations).toEqual([]);
});
