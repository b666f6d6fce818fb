import { mkdirSync } from 'node:fs';
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

beforeAll(async () => {
  db = await createTestDatabase();
  const kit = storeKit(db.url);
  await kit.raw.insertUser({
    email: 'ada@example.com',
    username: 'ada',
    hashedPassword: await hashPassword('correct horse'),
  });
  await kit.close();
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
  await db?.drop();
});

it('signs in with the form, lands on the redirect target, and signs out', async () => {
  const cspViolations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  const res = await page.goto(`${server.url}/login?redirect=/`);
  expect(res?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
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
