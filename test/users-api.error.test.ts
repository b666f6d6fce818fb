import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import { apiClient, type Call, expectError, rendezvous } from './kit/api.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { testAuthenticator } from './kit/test-auth.ts';

// Bad input to /api/v1/users: each refusal has its status and a message that names the
// problem, nothing is half-done, and nothing a caller sends turns into a 500.

const db = useTestDatabase();
let kit: StoreKit;
let server: TestServer;
let call: Call;
let root: User;
let alice: User;

beforeAll(async () => {
  kit = storeKit(db.url);
  root = await kit.user('root', { siteRoles: ['owner'] });
  alice = await kit.user('alice');
  server = await startTestServer(db.url, { authenticate: rendezvous(testAuthenticator(kit)) });
  call = apiClient(server);
});
afterAll(async () => {
  await server.close();
  await kit.close();
});

const row = async (user: User) => kit.raw.getUserById({ id: user.id });
const UNKNOWN_ID = '6f1c1f4e-0000-4000-8000-000000000000';

describe('unknown and misplaced role names', () => {
  it('an unknown site role is a 400 naming it, and no role is changed', async () => {
    const res = await call('PUT', `/api/v1/users/${alice.id}/roles`, {
      as: root,
      json: { roles: ['auditor', 'wizard'] },
    });
    expectError(res, 400, '"wizard"');
    expect((await row(alice))?.rbac_roles).toEqual([]);
  });

  it('an unknown role when creating a user is a 400 naming it, and no user is made', async () => {
    const res = await call('POST', '/api/v1/users', {
      as: root,
      json: { email: 'carl@example.com', username: 'carl', roles: ['superuser'] },
    });
    expectError(res, 400, '"superuser"');
    expect(await kit.raw.getUserByUsername({ username: 'carl' })).toBeUndefined();
  });

  it('an organization role given as a site role is a 400 that says where it belongs', async () => {
    const put = await call('PUT', `/api/v1/users/${alice.id}/roles`, {
      as: root,
      json: { roles: ['organization-admin'] },
    });
    expectError(put, 400, /"organization-admin" is an organization role/);
    expect(put.body.detail).toContain('/api/v1/organizations/{org}/members/{user}/roles');
    expect((await row(alice))?.rbac_roles).toEqual([]);

    const post = await call('POST', '/api/v1/users', {
      as: root,
      json: { email: 'dora@example.com', username: 'dora', roles: ['organization-auditor'] },
    });
    expectError(post, 400, '"organization-auditor"');
    expect(await kit.raw.getUserByUsername({ username: 'dora' })).toBeUndefined();
  });
});

describe('naming users', () => {
  it('{user} is an id, a username (any case) or me', async () => {
    for (const ref of [alice.id, 'alice', 'ALICE', 'me']) {
      const res = await call('GET', `/api/v1/users/${ref}`, { as: alice });
      expect({ ref, status: res.status, id: res.body.id }).toEqual({ ref, status: 200, id: alice.id });
    }
  });

  it('a user that does not exist is a 404 on every route that names one', async () => {
    for (const ref of [UNKNOWN_ID, 'nobody']) {
      const routes: Array<[string, string, unknown]> = [
        ['GET', `/api/v1/users/${ref}`, undefined],
        ['PUT', `/api/v1/users/${ref}/roles`, { roles: [] }],
        ['PUT', `/api/v1/users/${ref}/status`, { status: 'suspended' }],
        ['DELETE', `/api/v1/users/${ref}`, undefined],
      ];
      for (const [method, path, json] of routes) {
        expectError(await call(method, path, { as: root, json }), 404, `No user "${ref}"`);
      }
    }
  });

  it('a deleted user is gone: 404, and their username is free again', async () => {
    const gone = await kit.user('gone');
    expect((await call('DELETE', `/api/v1/users/${gone.id}`, { as: root })).status).toBe(204);
    expectError(await call('GET', `/api/v1/users/${gone.id}`, { as: root }), 404);
    expectError(await call('GET', '/api/v1/users/gone', { as: root }), 404);
    const again = await call('POST', '/api/v1/users', {
      as: root,
      json: { email: 'gone@example.com', username: 'gone' },
    });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(gone.id);
  });

  it('a name that cannot be a username is a 404, not a database error', async () => {
    for (const ref of ['%00', 'a%00b', '%E2%98%83', '-dash-first', 'x'.repeat(65)]) {
      expectError(await call('GET', `/api/v1/users/${ref}`, { as: root }), 404);
      expectError(
        await call('PUT', `/api/v1/users/${ref}/status`, { as: root, json: { status: 'active' } }),
        404,
      );
    }
  });

  it('creating a user whose username or email is taken is a 409', async () => {
    const sameName = await call('POST', '/api/v1/users', {
      as: root,
      json: { email: 'other@example.com', username: 'Alice' },
    });
    expectError(sameName, 409, 'already exists');
    const sameEmail = await call('POST', '/api/v1/users', {
      as: root,
      json: { email: 'ALICE@example.com', username: 'alice2' },
    });
    expectError(sameEmail, 409, 'already exists');
  });
});

describe('malformed requests are 400 with { message, detail }, never 500', () => {
  const bad: Array<[string, string, { json?: unknown; raw?: string }, RegExp]> = [
    ['POST', '/api/v1/users', { raw: '{"email": "x@example.com",' }, /not valid JSON/],
    ['POST', '/api/v1/users', { raw: 'null' }, /expected object/],
    ['POST', '/api/v1/users', { raw: '' }, /empty|expected object/],
    ['POST', '/api/v1/users', { json: {} }, /email.*username/],
    ['POST', '/api/v1/users', { json: { username: 'nomail' } }, /email/],
    ['POST', '/api/v1/users', { json: { email: 'not-an-email', username: 'x' } }, /email/],
    ['POST', '/api/v1/users', { json: { email: 42, username: ['x'] } }, /email.*username/],
    ['POST', '/api/v1/users', { json: { email: 'e@example.com', username: 'has space' } }, /username/],
    ['POST', '/api/v1/users', { json: { email: 'e@example.com', username: 'e', name: 'a\u0000b' } }, /name/],
    ['POST', '/api/v1/users', { json: { email: 'e@example.com', username: 'e', roles: 'owner' } }, /roles/],
    ['PUT', '/api/v1/users/alice/roles', { json: {} }, /roles/],
    ['PUT', '/api/v1/users/alice/roles', { json: { roles: 'owner' } }, /roles/],
    ['PUT', '/api/v1/users/alice/roles', { json: { roles: [1] } }, /roles\.0/],
    ['PUT', '/api/v1/users/alice/roles', { raw: '[' }, /not valid JSON/],
    ['PUT', '/api/v1/users/alice/status', { json: { status: 'gone' } }, /status/],
    ['PUT', '/api/v1/users/alice/status', { json: { state: 'active' } }, /status/],
    ['GET', '/api/v1/users?limit=0', {}, /limit/],
    ['GET', '/api/v1/users?limit=many', {}, /limit/],
    ['GET', '/api/v1/users?status=gone', {}, /status/],
    ['GET', '/api/v1/users?after_id=nope', {}, /after_id/],
    ['GET', '/api/v1/users?include_system=yes', {}, /include_system/],
    ['GET', '/api/v1/users?q=%00', {}, /q: must not contain NUL/],
  ];
  for (const [method, path, body, detail] of bad) {
    it(`${method} ${path} ${body.raw ?? JSON.stringify(body.json ?? '')}`, async () => {
      const res = await call(method, path, { as: root, ...body });
      expectError(res, 400, detail);
      expect(res.body.detail).toEqual(expect.any(String));
    });
  }

  it('a body that is not JSON is refused: text is not an object (400), a form is not JSON (415)', async () => {
    const text = await call('POST', '/api/v1/users', { as: root, raw: 'email=x', contentType: 'text/plain' });
    expectError(text, 400, /expected object/);
    const form = await call('POST', '/api/v1/users', {
      as: root,
      raw: 'email=x',
      contentType: 'application/x-www-form-urlencoded',
    });
    expectError(form, 415, 'Content-Type');
  });

  it('nothing was created by any of them', async () => {
    const users = await call('GET', '/api/v1/users', { as: root });
    expect(users.body.users.map((u: { username: string }) => u.username).sort()).toEqual([
      'alice',
      'gone',
      'root',
    ]);
  });
});

describe('the last owner', () => {
  it('cannot be demoted, suspended, made dormant or deleted (409), and stays an owner', async () => {
    const attempts = [
      call('PUT', '/api/v1/users/me/roles', { as: root, json: { roles: [] } }),
      call('PUT', '/api/v1/users/me/roles', { as: root, json: { roles: ['auditor'] } }),
      call('PUT', '/api/v1/users/me/status', { as: root, json: { status: 'suspended' } }),
      call('PUT', '/api/v1/users/me/status', { as: root, json: { status: 'dormant' } }),
      call('DELETE', '/api/v1/users/me', { as: root }),
    ];
    for (const res of await Promise.all(attempts)) expectError(res, 409, 'last owner');
    expect(await row(root)).toMatchObject({ rbac_roles: ['owner'], status: 'active', deleted: false });
  });

  it('while there is another owner, an owner may be demoted', async () => {
    const olga = await kit.user('olga', { siteRoles: ['owner'] });
    const res = await call('PUT', `/api/v1/users/${olga.id}/roles`, { as: root, json: { roles: [] } });
    expect(res.status).toBe(200);
    expect(res.body.roles).toEqual(['member']);
    expectError(await call('DELETE', '/api/v1/users/me', { as: root }), 409, 'last owner');
  });

  it('two owners removing each other at once never leave none (20 races)', async () => {
    // Only the pair under test may be owners, or both removals would rightly succeed.
    await kit.raw.updateUserSiteRoles({ id: root.id, roles: [] });
    try {
      const remove = ['demote', 'suspend', 'delete'] as const;
      for (let i = 0; i < 20; i++) {
        const [p, q] = await Promise.all([
          kit.user(`race${i}p`, { siteRoles: ['owner'] }),
          kit.user(`race${i}q`, { siteRoles: ['owner'] }),
        ]);
        const how = remove[i % remove.length] ?? 'demote';
        // Both requests are authenticated (as owners) before either changes anything.
        const headers = { 'x-test-rendezvous': `race${i}/2` };
        const act = (actor: User, target: User) =>
          how === 'demote'
            ? call('PUT', `/api/v1/users/${target.id}/roles`, { as: actor, headers, json: { roles: [] } })
            : how === 'suspend'
              ? call('PUT', `/api/v1/users/${target.id}/status`, {
                  as: actor,
                  headers,
                  json: { status: 'suspended' },
                })
              : call('DELETE', `/api/v1/users/${target.id}`, { as: actor, headers });
        const [pq, qp] = await Promise.all([act(p, q), act(q, p)]);

        const owners = await kit.raw.inTx((tx) => tx.lockActiveOwners(), { name: 'test' });
        expect({ i, how, owners: owners.length }).toEqual({ i, how, owners: 1 });
        const winner = owners[0] === p.id ? pq : qp;
        const loser = owners[0] === p.id ? qp : pq;
        expect([p.id, q.id]).toContain(owners[0]);
        expect({ i, how, status: winner.status }).toEqual({ i, how, status: how === 'delete' ? 204 : 200 });
        expectError(loser, 409, 'last owner');
        // Retire the survivor so the next pair are the only owners.
        await kit.raw.softDeleteUser({ id: owners[0] as string });
      }
    } finally {
      await kit.raw.updateUserSiteRoles({ id: root.id, roles: ['owner'] });
    }
  });
});
