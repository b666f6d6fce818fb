import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, hashPassword, issueKey } from '../src/apikeys/index.ts';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { TcpProxy } from './kit/tcp-proxy.ts';

const db = useTestDatabase();
let kit: StoreKit;
let server: TestServer;
let user: User;
let token: string;

beforeAll(async () => {
  kit = storeKit(db.url);
  user = await kit.raw.insertUser({
    email: 'sec@example.com',
    username: 'sec',
    hashedPassword: await hashPassword('right password'),
  });
  await kit.user('other');
  token = await mint(user);
  server = await startTestServer(db.url);
});
afterAll(async () => {
  await server.close();
  await kit.close();
});

async function mint(owner: User, lifetimeMs = 3_600_000, now = new Date()): Promise<string> {
  const issued = await issueKey(kit.raw, {
    userId: owner.id,
    name: '',
    loginType: 'password',
    scopes: ['latchkey:all'],
    allowList: ['*:*'],
    lifetimeMs,
    now,
  });
  return issued.token;
}

const me = (headers: Record<string, string>, s = server) => s.request('/api/v1/users/me', { headers });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('bad credentials are 401s, never 500s', () => {
  const valid = generateKey().token;
  it.each([
    ['garbage', 'not-a-key'],
    ['truncated', valid.slice(0, -5)],
    ['wrong checksum', `${valid.slice(0, -1)}${valid.endsWith('a') ? 'b' : 'a'}`],
    ['SQL-looking', "lk_x' OR '1'='1"],
    ['well-formed but unknown', valid],
    ['non-ASCII bytes', 'lk_\u00fc\u00ff\u00e9_\u00a7'],
  ])('%s', async (_name, bad) => {
    const res = await me(bearer(bad));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="latchkey", error="invalid_token"/);
    expect(await res.json()).toMatchObject({ message: expect.any(String) });
  });

  it('no credentials: a bare challenge without an error code (RFC 6750 §3.1), naming the resource metadata', async () => {
    const res = await me({});
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="latchkey", resource_metadata="http://127.0.0.1:3000/.well-known/oauth-protected-resource"',
    );
  });

  it('an expired key is 401 invalid_token', async () => {
    const expired = await mint(user, 60_000, new Date(Date.now() - 120_000));
    const res = await me(bearer(expired));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error_description="The token has expired."');
  });

  it('a key of a suspended user is refused (403)', async () => {
    const victim = await kit.user('suspended-one');
    const t = await mint(victim);
    expect((await me(bearer(t))).status).toBe(200);
    await kit.raw.updateUserStatus({ id: victim.id, status: 'suspended' });
    server.keys.dropUser(victim.id); // direct write, bypassing the API's notification
    expect((await me(bearer(t))).status).toBe(403);
  });

  it('the access_token query parameter is refused unless enabled', async () => {
    expect((await server.request(`/api/v1/users/me?access_token=${token}`)).status).toBe(401);
    const lenient = await startTestServer(db.url, { config: { allowAccessTokenQuery: true } });
    try {
      expect((await lenient.request(`/api/v1/users/me?access_token=${token}`)).status).toBe(200);
    } finally {
      await lenient.close();
    }
  });
});

describe('a database failure during validation is a 500, never a 401', () => {
  it('on required and optional routes alike', async () => {
    const u = new URL(db.url);
    const proxy = new TcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
    await proxy.start();
    const viaProxy = await startTestServer(proxy.urlFor(db.url));
    try {
      const fresh = await mint(user);
      await proxy.stop();
      const required = await me(bearer(fresh), viaProxy);
      expect(required.status).toBe(500);
      expect(required.headers.get('www-authenticate')).toBeNull();
      expect(await required.json()).toMatchObject({ message: 'Could not check the credentials; try again.' });
      const optional = await viaProxy.request('/api/v1/users/logout', {
        method: 'POST',
        headers: bearer(fresh),
      });
      expect(optional.status).toBe(500);
      await proxy.start();
      expect((await me(bearer(fresh), viaProxy)).status).toBe(200);
    } finally {
      await viaProxy.close();
      await proxy.stop();
    }
  });
});

describe('CSRF: cookie-authenticated writes must come from our origin', () => {
  const cookie = () => ({ cookie: `latchkey_session=${token}`, 'content-type': 'application/json' });
  const logoutLike = (headers: Record<string, string>) =>
    server.request('/api/v1/authcheck', { method: 'POST', headers, body: JSON.stringify({ checks: {} }) });

  it('refuses a cookie POST with no or another Origin, accepts our own', async () => {
    expect((await logoutLike(cookie())).status).toBe(403);
    expect((await logoutLike({ ...cookie(), origin: 'https://evil.example' })).status).toBe(403);
    expect((await logoutLike({ ...cookie(), origin: 'http://127.0.0.1:3000' })).status).toBe(200);
    expect((await logoutLike({ ...cookie(), referer: 'http://127.0.0.1:3000/settings' })).status).toBe(200);
  });

  it('exempts header tokens, which another site cannot make a browser send', async () => {
    expect((await logoutLike({ ...bearer(token), 'content-type': 'application/json' })).status).toBe(200);
  });

  it('refuses a cross-site login (login CSRF)', async () => {
    const res = await server.request('/api/v1/users/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ email: 'sec@example.com', password: 'right password' }),
    });
    expect(res.status).toBe(403);
  });
});

describe('login', () => {
  const login = (email: string, password: string) =>
    server.request('/api/v1/users/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });

  it('says the same for an unknown email and a wrong password', async () => {
    const unknown = await login('nobody@example.com', 'whatever');
    const wrong = await login('sec@example.com', 'wrong password');
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(await unknown.json()).toEqual(await wrong.json());
    expect((await login('SEC@example.com', 'right password')).status).toBe(200);
  });

  it('refuses a user without a password', async () => {
    expect((await login('other@example.com', '')).status).toBe(400);
    expect((await login('other@example.com', 'anything')).status).toBe(401);
  });
});

describe('random input against every auth route', () => {
  it('10,000 random requests: no 5xx', async () => {
    const routes = [
      ['POST', '/api/v1/users/login'],
      ['POST', '/api/v1/users/logout'],
      ['GET', '/api/v1/users/me'],
      ['GET', '/api/v1/users/me/keys'],
      ['POST', '/api/v1/users/me/keys'],
      ['DELETE', '/api/v1/users/me/keys/abc'],
      ['GET', '/api/v1/auth/scopes'],
    ] as const;
    let seed = 42;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const junk = () =>
      Array.from({ length: Math.floor(rand() * 40) }, () =>
        String.fromCharCode(32 + Math.floor(rand() * 95)),
      ).join('');
    const tokens = [() => token, () => generateKey().token, junk, () => `lk_${junk()}`, () => ''];
    const bodies = [
      () => JSON.stringify({ email: junk(), password: junk() }),
      () =>
        JSON.stringify({
          name: junk(),
          scopes: [junk()],
          allow_list: [junk()],
          lifetime_seconds: rand() * 1e9,
        }),
      () => junk(),
      () => '{',
      () => JSON.stringify([1, 2, 3]),
    ];
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < 10_000) {
        next += 1;
        const [method, path] = pick(routes);
        const headers: Record<string, string> = { 'content-type': pick(['application/json', 'text/plain']) };
        const t = pick(tokens)();
        const where = pick(['bearer', 'cookie', 'session', 'none']);
        if (where === 'bearer') headers.authorization = `Bearer ${t}`;
        if (where === 'cookie') headers.cookie = `latchkey_session=${encodeURIComponent(t)}`;
        if (where === 'session') headers['latchkey-session-token'] = encodeURIComponent(t) || 'x';
        const res = await server.request(path, {
          method,
          headers,
          ...(method === 'POST' ? { body: pick(bodies)() } : {}),
        });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect([...statuses.keys()].filter((s) => s >= 500)).toEqual([]);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(10_000);
  }, 120_000);
});
