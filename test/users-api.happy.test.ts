import { afterAll, beforeAll, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { asUser, testAuthenticator } from './kit/test-auth.ts';

const db = useTestDatabase();
let kit: StoreKit;
let server: TestServer;
let owner: User;

beforeAll(async () => {
  kit = storeKit(db.url);
  owner = await kit.user('root', { siteRoles: ['owner'] });
  server = await startTestServer(db.url, { authenticate: testAuthenticator(kit) });
});
afterAll(async () => {
  await server.close();
  await kit.close();
});

const json = (body: unknown) => ({ 'content-type': 'application/json', body: JSON.stringify(body) });

it('an owner creates a user, who then sees only themselves', async () => {
  const created = await server.request('/api/v1/users', {
    method: 'POST',
    headers: asUser(owner, { 'content-type': 'application/json' }),
    body: json({ email: 'ann@example.com', username: 'ann' }).body,
  });
  expect(created.status).toBe(201);
  const ann = (await created.json()) as { id: string; roles: string[] };
  expect(ann.roles).toEqual(['member']);

  const me = await server.request('/api/v1/users/me', { headers: asUser(ann) });
  expect(await me.json()).toMatchObject({ username: 'ann' });
  const list = (await (await server.request('/api/v1/users', { headers: asUser(ann) })).json()) as {
    users: unknown[];
  };
  expect(list.users).toHaveLength(1);
  const orgs = (await (await server.request('/api/v1/organizations', { headers: asUser(ann) })).json()) as {
    organizations: Array<{ name: string }>;
  };
  expect(orgs.organizations.map((o) => o.name)).toEqual(['default']);
});

it('anonymous callers get 401 with a Bearer challenge', async () => {
  const res = await server.request('/api/v1/users');
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
});
