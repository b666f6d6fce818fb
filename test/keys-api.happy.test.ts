import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { asUser, testAuthenticator } from './kit/test-auth.ts';

const db = useTestDatabase();
let kit: StoreKit;
let a: TestServer;
let b: TestServer;
let owner: User;

beforeAll(async () => {
  kit = storeKit(db.url);
  owner = await kit.user('root', { siteRoles: ['owner'] });
  a = await startTestServer(db.url, { authenticate: testAuthenticator(kit) });
  b = await startTestServer(db.url, { authenticate: testAuthenticator(kit) });
});
afterAll(async () => {
  await a.close();
  await b.close();
  await kit.close();
});

const post = (server: TestServer, path: string, body: unknown, headers: Record<string, string> = {}) =>
  server.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function signUpAndLogIn(
  name: string,
): Promise<{ user: { id: string }; session: string; cookie: string }> {
  const created = await post(
    a,
    '/api/v1/users',
    { email: `${name}@example.com`, username: name, password: 'correct horse' },
    asUser(owner),
  );
  expect(created.status).toBe(201);
  const login = await post(a, '/api/v1/users/login', {
    email: `${name}@example.com`,
    password: 'correct horse',
  });
  expect(login.status).toBe(200);
  const { session_token } = (await login.json()) as { session_token: string };
  return {
    user: (await created.json()) as { id: string },
    session: session_token,
    cookie: login.headers.get('set-cookie') ?? '',
  };
}

describe('sign in, make a scoped key, use it, revoke it', () => {
  it('logs in by API with a session cookie that is HttpOnly and SameSite=Lax', async () => {
    const { session, cookie } = await signUpAndLogIn('ada');
    expect(session).toMatch(/^lk_/);
    expect(cookie).toContain(`latchkey_session=${session}`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/); // the access URL is http here
    // The session works as a cookie, as a Latchkey-Session-Token header, and as a Bearer token.
    for (const headers of [
      { cookie: `latchkey_session=${session}` },
      { 'latchkey-session-token': session },
      bearer(session),
    ]) {
      const me = await a.request('/api/v1/users/me', { headers });
      expect(me.status).toBe(200);
      expect(await me.json()).toMatchObject({ username: 'ada' });
    }
  });

  it('creates a scoped key with an allow-list, shown once, usable on every replica, and revocation is immediate', async () => {
    const { session } = await signUpAndLogIn('bea');
    const made = await post(
      a,
      '/api/v1/users/me/keys',
      { name: 'ci', scopes: ['user:read'], allow_list: ['user:*'] },
      bearer(session),
    );
    expect(made.status).toBe(201);
    const key = (await made.json()) as {
      id: string;
      key: string;
      scopes: string[];
      allow_list: string[];
      expires_at: string;
    };
    expect(key).toMatchObject({ scopes: ['user:read'], allow_list: ['user:*'] });
    expect(key.key).toMatch(/^lk_/);

    const listed = (await (
      await a.request('/api/v1/users/me/keys', { headers: bearer(session) })
    ).json()) as { keys: unknown[] };
    expect(JSON.stringify(listed)).not.toContain(key.key.slice(14));
    expect(listed.keys).toHaveLength(1);
    expect(
      await (await a.request('/api/v1/users/me/keys/ci', { headers: bearer(session) })).json(),
    ).toMatchObject({ id: key.id });

    // The key reads the user (its scope) on replica b, and is now cached there...
    expect((await b.request('/api/v1/users/me', { headers: bearer(key.key) })).status).toBe(200);
    // ...but may not do what its scope leaves out, even though the user's roles allow it.
    const check = await post(
      b,
      '/api/v1/authcheck',
      { checks: { u: { action: 'update', object: { resource_type: 'user', owner_id: 'me' } } } },
      bearer(key.key),
    );
    expect(await check.json()).toEqual({ u: false });

    const dropped = new Promise<void>((resolve) => {
      const off = b.keys.onDrop((id) => {
        if (id === key.id) {
          off();
          resolve();
        }
      });
    });
    const revoked = await a.request(`/api/v1/users/me/keys/${key.id}`, {
      method: 'DELETE',
      headers: bearer(session),
    });
    expect(revoked.status).toBe(204);
    await dropped;
    const after = await b.request('/api/v1/users/me', { headers: bearer(key.key) });
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('lists the public scopes without signing in', async () => {
    const res = await a.request('/api/v1/auth/scopes');
    const { scopes } = (await res.json()) as { scopes: Array<{ name: string }> };
    expect(scopes.map((s) => s.name)).toEqual(
      expect.arrayContaining(['latchkey:all', 'latchkey:application_connect', 'user:read']),
    );
  });

  it('accepts the legacy singular scope', async () => {
    const { session } = await signUpAndLogIn('cal');
    const made = await post(
      a,
      '/api/v1/users/me/keys',
      { name: 'legacy', scope: 'user:read' },
      bearer(session),
    );
    expect(await made.json()).toMatchObject({ scopes: ['user:read'] });
  });

  it('logs out: the session stops working and the cookie is cleared', async () => {
    const { session } = await signUpAndLogIn('dot');
    const out = await a.request('/api/v1/users/logout', { method: 'POST', headers: bearer(session) });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await a.request('/api/v1/users/me', { headers: bearer(session) })).status).toBe(401);
  });

  it('logs who made each request, never the secret', async () => {
    const { session } = await signUpAndLogIn('eve');
    await a.request('/api/v1/users/me', { headers: bearer(session) });
    const keyId = session.slice(3, 13);
    const line = a.logs.records.find((r) => r.msg === 'request' && r.api_key_id === keyId);
    expect(line).toMatchObject({ path: '/api/v1/users/me', status: 200, user_id: expect.any(String) });
    expect(a.logs.text()).not.toContain(session.slice(14));
  });
});
