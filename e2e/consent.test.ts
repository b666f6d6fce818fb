import { mkdirSync } from 'node:fs';
import * as oauth from 'oauth4webapi';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { OAuth2App } from '../src/db/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/kit/database.ts';
import { startTestServer, type TestServer } from '../test/kit/server.ts';
import { storeKit } from '../test/kit/store.ts';
import { freePort } from '../test/kit/tcp-proxy.ts';
import { launchChromium } from './kit/browser.ts';
import { type CallbackPage, insertNativeApp, startCallbackPage } from './kit/oauth-client.ts';

// The authorization code flow in Chromium, with oauth4webapi as the client: sign in, see
// the consent page, click "Allow", land on the client's loopback redirect with code,
// state and iss, exchange the code at /oauth2/token, use and refresh the tokens.

const SHOTS = new URL('./screenshots/', import.meta.url);
const insecure = { [oauth.allowInsecureRequests]: true };
let db: TestDatabase;
let server: TestServer;
let callback: CallbackPage;
let callbackUrl: string;
let browser: Browser;
let page: Page;
let agent: OAuth2App;
let denied: OAuth2App;
let as: oauth.AuthorizationServer;
const cspViolations: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const kit = storeKit(db.url);
  await kit.user('ada', { password: 'correct horse' });
  agent = await insertNativeApp(kit, 'e2e-agent', 'Test Agent');
  denied = await insertNativeApp(kit, 'e2e-denied', 'Denied Agent');
  await kit.close();

  callback = await startCallbackPage();
  callbackUrl = callback.url;

  // The page's origin must be the access URL (cookie-authenticated posts are checked against it).
  const port = await freePort();
  server = await startTestServer(db.url, {
    config: { httpAddress: { host: '127.0.0.1', port }, accessUrl: `http://127.0.0.1:${port}` },
  });
  const issuer = new URL(server.url);
  as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
  browser = await launchChromium();
  page = await browser.newPage();
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

async function authorizationUrl(
  clientId: string,
  state: string,
  verifier: string,
  scope: string,
): Promise<string> {
  const url = new URL(as.authorization_endpoint as string);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: callbackUrl,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    scope,
    resource: server.url,
  }).toString();
  return url.href;
}

it('signs in, allows on the consent page, and exchanges the code for working tokens', async () => {
  const client: oauth.Client = { client_id: agent.client_id };
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  await page.goto(await authorizationUrl(agent.client_id, state, verifier, 'user:read offline_access'));

  // Not signed in: the login page, which brings us back afterwards.
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel('Password').fill('correct horse');
  await page.getByRole('button', { name: 'Sign in' }).click();

  await page.getByRole('heading', { name: 'Allow Test Agent to use your account?' }).waitFor();
  const consent = page.locator('main');
  expect(await consent.textContent()).toContain('Read user objects.');
  expect(await consent.textContent()).toContain('127.0.0.1:');
  await expect(page.getByRole('button', { name: 'Deny' }).isVisible()).resolves.toBe(true);
  await page.screenshot({ path: new URL('consent.png', SHOTS).pathname });

  await page.getByRole('button', { name: 'Allow' }).click();
  await page.getByRole('heading', { name: 'Back at the app' }).waitFor();
  const landed = new URL(page.url());
  expect(`${landed.origin}${landed.pathname}`).toBe(callbackUrl);
  expect(landed.searchParams.get('state')).toBe(state);
  expect(landed.searchParams.get('iss')).toBe(server.url);
  await page.screenshot({ path: new URL('consent-callback.png', SHOTS).pathname });

  // oauth4webapi checks state and iss (RFC 9207) before anything is exchanged.
  const params = oauth.validateAuthResponse(as, client, landed, state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    oauth.None(),
    params,
    callbackUrl,
    verifier,
    { ...insecure, additionalParameters: { resource: server.url } },
  );
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
  expect(tokens).toMatchObject({ token_type: 'bearer', scope: 'user:read offline_access', expires_in: 3600 });
  const me = await server.request('/api/v1/users/me', {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  expect(await me.json()).toMatchObject({ username: 'ada' });

  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token as string, insecure),
  );
  expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);

  // Allowed once, remembered: the next authorization goes straight back to the app.
  const again = oauth.generateRandomState();
  await page.goto(await authorizationUrl(agent.client_id, again, verifier, 'user:read'));
  await page.getByRole('heading', { name: 'Back at the app' }).waitFor();
  expect(new URL(page.url()).searchParams.get('state')).toBe(again);
  expect(new URL(page.url()).searchParams.get('code')).toBeTruthy();
  expect(cspViolations).toEqual([]);
});

it('sends access_denied back when the user clicks "Deny"', async () => {
  const state = oauth.generateRandomState();
  await page.goto(
    await authorizationUrl(denied.client_id, state, oauth.generateRandomCodeVerifier(), 'user:read'),
  );
  await page.getByRole('heading', { name: 'Allow Denied Agent to use your account?' }).waitFor();
  await page.getByRole('button', { name: 'Deny' }).click();
  await page.getByRole('heading', { name: 'Back at the app' }).waitFor();
  const landed = new URL(page.url());
  expect(Object.fromEntries(landed.searchParams)).toMatchObject({
    error: 'access_denied',
    state,
    iss: server.url,
  });
  expect(landed.searchParams.has('code')).toBe(false);
  expect(cspViolations).toEqual([]);
});
