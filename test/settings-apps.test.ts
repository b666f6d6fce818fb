import { afterAll, beforeAll, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { exchange, type Flow, ISSUER, startFlow } from './kit/oauth2-flow.ts';

// /settings/apps as a browser without JavaScript uses it: the list, and the "Revoke" form,
// which must come from this origin.

const db = useTestDatabase();
let flow: Flow;
let ada: User;

beforeAll(async () => {
  flow = await startFlow(db.url);
  ada = await flow.kit.user('ada');
});
afterAll(() => flow.close());

const FORM = 'application/x-www-form-urlencoded';

function page(cookie?: string) {
  return flow.server.request('/settings/apps', { headers: cookie ? { cookie } : {}, redirect: 'manual' });
}

function revoke(appId: string, cookie: string, origin: string) {
  return flow.server.request(`/settings/apps/${appId}/revoke`, {
    method: 'POST',
    headers: { cookie, origin, 'content-type': FORM },
    body: '',
    redirect: 'manual',
  });
}

it('sends a visitor who is not signed in to sign in and back', async () => {
  const res = await page();
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/login?redirect=%2Fsettings%2Fapps');
});

it('lists an authorized app with its host and scope in words, escaped', async () => {
  const client = await flow.createApp({ name: '<b>Sneaky</b> App', scope: 'user:read' });
  const { cookie } = await flow.code(client, ada, { scope: 'user:read' });
  const res = await page(cookie);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  expect(res.headers.get('cache-control')).toBe('no-store');
  const html = await res.text();
  expect(html).toContain('&lt;b&gt;Sneaky&lt;/b&gt; App');
  expect(html).not.toContain('<b>Sneaky');
  expect(html).toContain('Receives access at <strong>client.example</strong>');
  expect(html).toContain('Read user objects.');
  expect(html).toContain(`action="/settings/apps/${client.app.id}/revoke"`);
});

it('a revoke posted from another site is refused and changes nothing; from this origin it revokes', async () => {
  const client = await flow.createApp({ name: 'Target App' });
  const got = await flow.code(client, ada);
  const tokens = await exchange(flow, client, got);
  const api = (token: string) =>
    flow.server.request('/api/v1/users/me', { headers: { authorization: `Bearer ${token}` } });

  const forged = await revoke(client.app.id, got.cookie, 'https://evil.example');
  expect(forged.status).toBe(403);
  expect((await api(tokens.access_token)).status).toBe(200);
  expect(await (await page(got.cookie)).text()).toContain('Target App');

  const res = await revoke(client.app.id, got.cookie, ISSUER);
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/settings/apps');
  expect((await api(tokens.access_token)).status).toBe(401);
  expect(await (await page(got.cookie)).text()).not.toContain('Target App');
  // Revoking again (another tab got there first), or a made-up id, just shows the page.
  expect((await revoke(client.app.id, got.cookie, ISSUER)).status).toBe(303);
  expect((await revoke('not-a-uuid', got.cookie, ISSUER)).status).toBe(303);
});

it("a user cannot revoke another user's app through the page", async () => {
  const bob = await flow.kit.user('bob');
  const client = await flow.createApp({ name: 'Bobs App' });
  const bobs = await flow.code(client, bob);
  const tokens = await exchange(flow, client, bobs);
  const adaCookie = await flow.session(ada);
  expect((await revoke(client.app.id, adaCookie, ISSUER)).status).toBe(303);
  const still = await flow.server.request('/api/v1/users/me', {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  expect(still.status).toBe(200);
});
