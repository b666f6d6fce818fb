import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FakeProvider, startFakeProvider } from '../test/fakes/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/kit/database.ts';
import { providerFor } from '../test/kit/providers.ts';
import { startTestServer, type TestServer } from '../test/kit/server.ts';
import { storeKit } from '../test/kit/store.ts';
import { freePort } from '../test/kit/tcp-proxy.ts';
import { launchChromium } from './kit/browser.ts';

// The external accounts page in Chromium: sign in, link the fake GitHub through the
// browser redirect flow, unlink, then link again with a code (device flow).

const SHOTS = new URL('./screenshots/', import.meta.url);
let db: TestDatabase;
let github: FakeProvider;
let server: TestServer;
let browser: Browser;
let page: Page;
let upstreamNow = Date.now();
const cspViolations: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const kit = storeKit(db.url);
  await kit.user('grace', { password: 'correct horse' });
  await kit.close();
  // The fake's clock is the test's, so polling "later" needs no sleeping.
  github = await startFakeProvider({ flavour: 'github', now: () => upstreamNow });
  // The page's origin must be the access URL: cookie-authenticated posts are checked against
  // it, and the provider sends the browser back to the access URL's callback.
  const port = await freePort();
  server = await startTestServer(db.url, {
    config: {
      httpAddress: { host: '127.0.0.1', port },
      accessUrl: `http://127.0.0.1:${port}`,
      externalAuth: [providerFor(github, { displayName: 'GitHub', deviceFlow: true })],
    },
  });
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
  await github?.close();
  await db?.drop();
});

const shot = (name: string) => page.screenshot({ path: new URL(name, SHOTS).pathname, fullPage: true });
const gitHub = () => page.getByRole('region', { name: 'GitHub' });

it('links GitHub in the browser, shows who is linked, and unlinks', async () => {
  // Signing in from the page's redirect brings the user back to it.
  await page.goto(`${server.url}/settings/external-auth`);
  await page.getByLabel('Email').fill('grace@example.com');
  await page.getByLabel('Password').fill('correct horse');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'External accounts' }).waitFor();
  expect(new URL(page.url()).pathname).toBe('/settings/external-auth');
  expect(await gitHub().getByText('Not linked').isVisible()).toBe(true);
  await shot('external-auth-not-linked.png');

  // Latchkey → fake GitHub (authorizes at once) → callback → back here.
  await gitHub().getByRole('link', { name: 'Link', exact: true }).click();
  await gitHub()
    .getByText(/^Linked as octocat/)
    .waitFor();
  expect(new URL(page.url()).pathname).toBe('/settings/external-auth');
  expect(
    await gitHub()
      .getByText(/expires in 8 hours/)
      .isVisible(),
  ).toBe(true);
  await shot('external-auth-linked.png');

  await gitHub().getByRole('button', { name: 'Unlink' }).click();
  await gitHub().getByText('Not linked').waitFor();
  expect(github.stats.revokeCalls).toBe(1);
  await shot('external-auth-unlinked.png');
});

it('links GitHub with a code (device flow)', async () => {
  await page.goto(`${server.url}/`);
  await page.getByRole('link', { name: 'External accounts' }).click();
  await gitHub().getByRole('button', { name: 'Link with a code' }).click();
  await page.getByRole('heading', { name: 'Link GitHub with a code' }).waitFor();
  const code = (await page.locator('code').textContent()) ?? '';
  expect(code).toMatch(/^\w{4}-\w{4}$/);
  expect(await page.getByRole('link', { name: `${github.url}/login/device` }).isVisible()).toBe(true);
  await shot('external-auth-device-code.png');

  await page.getByRole('button', { name: "I've entered the code" }).click();
  await page.getByRole('status').waitFor();
  expect(await page.getByRole('status').textContent()).toMatch(/^Still waiting/);
  await shot('external-auth-device-waiting.png');

  github.approveDevice(code);
  upstreamNow += 5_000;
  await page.getByRole('button', { name: "I've entered the code" }).click();
  await gitHub()
    .getByText(/^Linked as octocat/)
    .waitFor();
  expect(new URL(page.url()).pathname).toBe('/settings/external-auth');
  await shot('external-auth-device-linked.png');
  expect(cspViolations).toEqual([]);
});
