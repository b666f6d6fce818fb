import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueKey } from '../src/apikeys/index.ts';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { asUser, testAuthenticator } from './kit/test-auth.ts';

// OA-2: admin-managed apps under /api/v1/oauth2-provider/apps.

const db = useTestDatabase();
let kit: StoreKit;
let server: TestServer;
let owner: User;
let alice: User;
const BASE = '/api/v1/oauth2-provider/apps';

beforeAll(async () => {
  kit = storeKit(db.url);
  owner = await kit.user('appowner', { siteRoles: ['owner'] });
  alice = await kit.user('alice');
  server = await startTestServer(db.url, { authenticate: testAuthenticator(kit) });
});
afterAll(async () => {
  await server?.close();
  await kit?.close();
});

type Json = Record<string, unknown>;

async function call(who: User | undefined, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = who ? asUser(who) : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await server.request(path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { res, status: res.status, body: (text ? JSON.parse(text) : undefined) as Json };
}

const APP = {
  name: 'Build server',
  redirect_uris: ['https://ci.example/oauth/callback'],
  grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
  scope: 'user:read',
  logo_uri: 'https://ci.example/logo.png',
};

async function createApp(extra: Json = {}): Promise<Json> {
  const { status, body } = await call(owner, 'POST', BASE, { ...APP, ...extra });
  expect(status).toBe(201);
  return body;
}

describe('an owner manages apps', () => {
  it('creates an app: 201, a client_id, its metadata in RFC 7591 names', async () => {
    const app = await createApp();
    expect(app).toMatchObject({
      id: expect.any(String),
      client_id: expect.stringMatching(/^lkc_/),
      origin: 'admin',
      name: 'Build server',
      client_metadata: {
        client_name: 'Build server',
        redirect_uris: APP.redirect_uris,
        grant_types: APP.grant_types,
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        application_type: 'web',
        scope: 'user:read',
        logo_uri: APP.logo_uri,
      },
    });
    const stored = await kit.raw.getOAuth2AppById({ id: app.id as string });
    expect(stored?.created_by).toBe(owner.id);
  });

  it('lists, reads, replaces', async () => {
    const app = await createApp({ name: 'Listed' });
    const list = await call(owner, 'GET', BASE);
    expect((list.body.apps as Json[]).map((a) => a.id)).toContain(app.id);
    expect((await call(owner, 'GET', `${BASE}?origin=dynamic`)).body.apps).toEqual([]);
    expect((await call(owner, 'GET', `${BASE}/${app.id}`)).body).toEqual(app);
    const put = await call(owner, 'PUT', `${BASE}/${app.id}`, {
      name: 'Replaced',
      redirect_uris: ['https://ci.example/new'],
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      id: app.id,
      client_id: app.client_id,
      name: 'Replaced',
      client_metadata: { redirect_uris: ['https://ci.example/new'], grant_types: ['authorization_code'] },
    });
    expect(put.body.client_metadata).not.toHaveProperty('scope');
  });

  it('refuses invalid metadata with a 400 that says why', async () => {
    const { status, body } = await call(owner, 'POST', BASE, {
      ...APP,
      redirect_uris: ['http://ci.example/cb'],
    });
    expect(status).toBe(400);
    expect(body).toMatchObject({ message: 'Invalid app.', detail: expect.stringContaining('loopback') });
    expect((await call(owner, 'POST', BASE, { redirect_uris: ['https://x.example/cb'] })).status).toBe(400);
    expect((await call(owner, 'POST', BASE, { ...APP, scope: 'nope:nope' })).status).toBe(400);
  });

  it('makes secrets shown once and stored hashed; lists and deletes them', async () => {
    const app = await createApp();
    const made = await call(owner, 'POST', `${BASE}/${app.id}/secrets`);
    expect(made.status).toBe(201);
    const secret = made.body.client_secret as string;
    expect(secret).toMatch(/^lkcs_/);
    expect(secret.startsWith(made.body.display_prefix as string)).toBe(true);
    const list = await call(owner, 'GET', `${BASE}/${app.id}/secrets`);
    expect(list.body.secrets).toEqual([
      {
        id: made.body.id,
        display_prefix: made.body.display_prefix,
        created_at: made.body.created_at,
        last_used_at: null,
      },
    ]);
    expect(JSON.stringify(list.body)).not.toContain(secret);
    const [row] = await kit.raw.listOAuth2AppSecrets({ appId: app.id as string });
    expect(row?.hashed_secret).toEqual(createHash('sha256').update(secret).digest());
    expect((await call(owner, 'DELETE', `${BASE}/${app.id}/secrets/${made.body.id}`)).status).toBe(204);
    expect((await call(owner, 'DELETE', `${BASE}/${app.id}/secrets/${made.body.id}`)).status).toBe(404);
    expect((await call(owner, 'DELETE', `${BASE}/${app.id}/secrets/not-a-uuid`)).status).toBe(404);
  });

  it('a public client gets no secret', async () => {
    const app = await createApp({ token_endpoint_auth_method: 'none', grant_types: ['authorization_code'] });
    expect((await call(owner, 'POST', `${BASE}/${app.id}/secrets`)).status).toBe(400);
  });

  it('deleting an app deletes its access tokens, which stop working at once', async () => {
    const app = await createApp();
    const issued = await issueKey(kit.raw, {
      userId: alice.id,
      name: '',
      loginType: 'oauth2_app',
      scopes: ['user:read'],
      allowList: ['*:*'],
      lifetimeMs: 3_600_000,
      now: new Date(),
    });
    await sql`UPDATE api_keys SET oauth2_app_id = ${app.id}, audience = ${'http://127.0.0.1:3000'} WHERE id = ${issued.row.id}`.execute(
      kit.handle.db,
    );
    const me = () =>
      server.request('/api/v1/users/me', { headers: { authorization: `Bearer ${issued.token}` } });
    expect((await me()).status).toBe(200); // now cached by the server
    expect((await call(owner, 'DELETE', `${BASE}/${app.id}`)).status).toBe(204);
    expect(await kit.raw.getApiKeyById({ id: issued.row.id })).toBeUndefined();
    expect((await me()).status).toBe(401);
    expect((await call(owner, 'GET', `${BASE}/${app.id}`)).status).toBe(404);
  });
});

describe('a missing app is a 404, not a 401', () => {
  const missing = randomUUID();
  it.each([
    ['GET', `${BASE}/${missing}`],
    ['PUT', `${BASE}/${missing}`],
    ['DELETE', `${BASE}/${missing}`],
    ['GET', `${BASE}/${missing}/secrets`],
    ['POST', `${BASE}/${missing}/secrets`],
    ['DELETE', `${BASE}/${missing}/secrets/${randomUUID()}`],
    ['GET', `${BASE}/not-a-uuid`],
  ])('%s %s', async (method, path) => {
    const body = method === 'PUT' ? APP : undefined;
    expect((await call(owner, method, path, body)).status).toBe(404);
  });
});

describe('others may not', () => {
  it('anonymous callers get 401', async () => {
    expect((await call(undefined, 'GET', BASE)).status).toBe(401);
    expect((await call(undefined, 'POST', BASE, APP)).status).toBe(401);
  });

  it('to a member, apps do not exist: empty list, 404 on each, 403 on create', async () => {
    const app = await createApp();
    expect((await call(alice, 'GET', BASE)).body).toEqual({ apps: [] });
    expect((await call(alice, 'GET', `${BASE}/${app.id}`)).status).toBe(404);
    expect((await call(alice, 'PUT', `${BASE}/${app.id}`, APP)).status).toBe(404);
    expect((await call(alice, 'DELETE', `${BASE}/${app.id}`)).status).toBe(404);
    expect((await call(alice, 'GET', `${BASE}/${app.id}/secrets`)).status).toBe(404);
    expect((await call(alice, 'POST', `${BASE}/${app.id}/secrets`)).status).toBe(404);
    expect((await call(alice, 'POST', BASE, APP)).status).toBe(403);
    expect(await kit.raw.getOAuth2AppById({ id: app.id as string })).toBeDefined();
  });
});
