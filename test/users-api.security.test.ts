import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueKey } from '../src/apikeys/index.ts';
import type { Organization, User } from '../src/db/index.ts';
import { apiClient, type Call, expectError } from './kit/api.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { testAuthenticator } from './kit/test-auth.ts';

// Who may do what through /api/v1/users (and, for the "any route" test, the member routes
// of /api/v1/organizations): escalation refused, other people's data invisible.

const db = useTestDatabase();
let kit: StoreKit;
let server: TestServer;
let call: Call;
let org: Organization;
let root: User;
let userAdmin: User;
let alice: User;
let bob: User;
let robot: User;

beforeAll(async () => {
  kit = storeKit(db.url);
  org = await kit.raw.getDefaultOrganization();
  root = await kit.user('root', { siteRoles: ['owner'] });
  userAdmin = await kit.user('uadmin', { siteRoles: ['user-admin'] });
  alice = await kit.user('alice');
  bob = await kit.user('bob', { orgRoles: ['organization-auditor'] });
  robot = await kit.user('robot', { isSystem: true });
  server = await startTestServer(db.url, { authenticate: testAuthenticator(kit) });
  call = apiClient(server);
});
afterAll(async () => {
  await server.close();
  await kit.close();
});

const usernames = (res: { body: { users: Array<{ username: string }> } }) =>
  res.body.users.map((u) => u.username).sort();

describe('no privilege escalation', () => {
  it('a user admin cannot make someone an owner (403), by role change or at creation', async () => {
    const put = await call('PUT', `/api/v1/users/${alice.id}/roles`, {
      as: userAdmin,
      json: { roles: ['owner'] },
    });
    expectError(put, 403, /assign/);
    expect((await kit.raw.getUserById({ id: alice.id }))?.rbac_roles).toEqual([]);

    const post = await call('POST', '/api/v1/users', {
      as: userAdmin,
      json: { email: 'new@example.com', username: 'newowner', roles: ['owner'] },
    });
    expectError(post, 403, /assign/);
    expect(await kit.raw.getUserByUsername({ username: 'newowner' })).toBeUndefined();
  });

  it('a user admin cannot grant a role they do not hold either (auditor reads audit logs)', async () => {
    const res = await call('PUT', `/api/v1/users/${alice.id}/roles`, {
      as: userAdmin,
      json: { roles: ['auditor'] },
    });
    expectError(res, 403);
  });

  it('a user admin can grant what they hold, and create plain users', async () => {
    const grant = await call('PUT', `/api/v1/users/${alice.id}/roles`, {
      as: userAdmin,
      json: { roles: ['user-admin'] },
    });
    expect(grant.status).toBe(200);
    const revoke = await call('PUT', `/api/v1/users/${alice.id}/roles`, {
      as: userAdmin,
      json: { roles: [] },
    });
    expect(revoke.body.roles).toEqual(['member']);
    const created = await call('POST', '/api/v1/users', {
      as: userAdmin,
      json: { email: 'plain@example.com', username: 'plain' },
    });
    expect(created.status).toBe(201);
  });

  it('a user admin cannot take the owner role away from an owner', async () => {
    // A second owner, so that the refusal is the permission's and not the last-owner rule's.
    const second = await kit.user('second', { siteRoles: ['owner'] });
    try {
      const res = await call('PUT', `/api/v1/users/${second.id}/roles`, {
        as: userAdmin,
        json: { roles: [] },
      });
      expectError(res, 403, /unassign/);
      expect((await kit.raw.getUserById({ id: second.id }))?.rbac_roles).toEqual(['owner']);
    } finally {
      await kit.raw.softDeleteUser({ id: second.id });
    }
  });

  it('a member cannot give themselves a role (403), nor create users', async () => {
    for (const roles of [['owner'], ['user-admin'], ['auditor']]) {
      const res = await call('PUT', '/api/v1/users/me/roles', { as: alice, json: { roles } });
      expectError(res, 403);
    }
    expect((await kit.raw.getUserById({ id: alice.id }))?.rbac_roles).toEqual([]);
    const post = await call('POST', '/api/v1/users', {
      as: alice,
      json: { email: 'sock@example.com', username: 'sock' },
    });
    expectError(post, 403, /create/);
  });

  it('a member cannot suspend or delete themselves either (administrative, not "their own data")', async () => {
    expectError(
      await call('PUT', '/api/v1/users/me/status', { as: alice, json: { status: 'dormant' } }),
      403,
    );
    expectError(await call('DELETE', '/api/v1/users/me', { as: alice }), 403);
    expect(await kit.raw.getUserById({ id: alice.id })).toMatchObject({ status: 'active', deleted: false });
  });
});

describe('hidden is the same as missing (404, not 403)', () => {
  it('a member reading another member gets what a missing user gets', async () => {
    const hiddenById = await call('GET', `/api/v1/users/${bob.id}`, { as: alice });
    const missingId = '00000000-0000-4000-8000-000000000000';
    const missingById = await call('GET', `/api/v1/users/${missingId}`, { as: alice });
    expect(hiddenById.status).toBe(404);
    expect(hiddenById.body).toEqual({ message: `No user "${bob.id}".` });
    expect(missingById.body).toEqual({ message: `No user "${missingId}".` });

    const hiddenByName = await call('GET', '/api/v1/users/bob', { as: alice });
    expect(hiddenByName.body).toEqual({ message: 'No user "bob".' });
  });

  it('a member reading another member of their organization gets a 404', async () => {
    for (const ref of [bob.id, 'bob']) {
      const res = await call('GET', `/api/v1/organizations/default/members/${ref}`, { as: alice });
      expectError(res, 404);
      expect(JSON.stringify(res.body)).not.toContain(bob.email);
    }
    const own = await call('GET', '/api/v1/organizations/default/members/me', { as: alice });
    expect(own.body).toMatchObject({ user_id: alice.id, roles: ['organization-member'] });
  });
});

it('a member can neither read nor change another member through any users or organizations route', async () => {
  const before = {
    user: await kit.raw.getUserById({ id: bob.id }),
    member: await kit.raw.getOrganizationMember({ organizationId: org.id, userId: bob.id }),
  };
  const tries: Array<[string, string, unknown?]> = [];
  for (const ref of [bob.id, 'bob', 'BOB']) {
    tries.push(
      ['GET', `/api/v1/users/${ref}`],
      ['PUT', `/api/v1/users/${ref}/roles`, { roles: ['auditor'] }],
      ['PUT', `/api/v1/users/${ref}/roles`, { roles: [] }],
      ['PUT', `/api/v1/users/${ref}/status`, { status: 'suspended' }],
      ['PUT', `/api/v1/users/${ref}/status`, { status: 'active' }],
      ['DELETE', `/api/v1/users/${ref}`],
    );
    for (const o of ['default', org.id]) {
      tries.push(
        ['GET', `/api/v1/organizations/${o}/members/${ref}`],
        ['PUT', `/api/v1/organizations/${o}/members/${ref}/roles`, { roles: ['organization-admin'] }],
        ['PUT', `/api/v1/organizations/${o}/members/${ref}/roles`, { roles: [] }],
        ['DELETE', `/api/v1/organizations/${o}/members/${ref}`],
      );
    }
  }
  tries.push(
    ['POST', '/api/v1/organizations/default/members', { user_id: bob.id, roles: ['organization-admin'] }],
    ['POST', '/api/v1/organizations/default/members', { user_id: bob.id }],
    // Taking bob's name or email must be refused before a "taken" (409) could say he exists.
    ['POST', '/api/v1/users', { email: bob.email, username: 'bob' }],
  );
  for (const [method, path, json] of tries) {
    const res = await call(method, path, { as: alice, json });
    expect({ method, path, json, status: res.status }).toEqual({
      method,
      path,
      json,
      status: expect.toSatisfy((s: number) => s === 403 || s === 404),
    });
    expect(JSON.stringify(res.body)).not.toContain(bob.email);
  }

  // Lists show only alice herself.
  expect(usernames(await call('GET', '/api/v1/users', { as: alice }))).toEqual(['alice']);
  expect(usernames(await call('GET', '/api/v1/users?q=bob', { as: alice }))).toEqual([]);
  const members = await call('GET', '/api/v1/organizations/default/members', { as: alice });
  expect(members.body.members.map((m: { user_id: string }) => m.user_id)).toEqual([alice.id]);

  expect({
    user: await kit.raw.getUserById({ id: bob.id }),
    member: await kit.raw.getOrganizationMember({ organizationId: org.id, userId: bob.id }),
  }).toEqual(before);
});

describe('system users', () => {
  it('are hidden from a member even when asked for', async () => {
    const res = await call('GET', '/api/v1/users?include_system=true', { as: alice });
    expect(usernames(res)).not.toContain('robot');
    expectError(await call('GET', `/api/v1/users/${robot.id}`, { as: alice }), 404);
  });

  it('are shown to an owner who asks for them, and only then', async () => {
    expect(usernames(await call('GET', '/api/v1/users', { as: root }))).not.toContain('robot');
    const res = await call('GET', '/api/v1/users?include_system=true', { as: root });
    const shown = res.body.users.find((u: { username: string }) => u.username === 'robot');
    expect(shown).toMatchObject({ id: robot.id, is_system: true, roles: [] });
  });
});

describe('the Latchkey-Authz-Checks debug header', () => {
  it('lists the checks a request made, for an owner who asks', async () => {
    const res = await call('GET', `/api/v1/users/${bob.id}`, {
      as: root,
      headers: { 'latchkey-authz-checks': 'true' },
    });
    expect(res.status).toBe(200);
    const checks = JSON.parse(res.headers.get('latchkey-authz-checks') ?? 'null');
    expect(checks).toEqual([{ action: 'read', type: 'user', id: bob.id, allowed: true }]);
  });

  it('lists grant checks too', async () => {
    const res = await call('PUT', `/api/v1/users/${bob.id}/roles`, {
      as: root,
      headers: { 'latchkey-authz-checks': 'true' },
      json: { roles: ['auditor'] },
    });
    expect(res.status).toBe(200);
    const checks = JSON.parse(res.headers.get('latchkey-authz-checks') ?? '[]');
    expect(checks).toEqual(
      expect.arrayContaining([
        { action: 'assign', type: 'assign_role', allowed: true },
        { action: 'assign', type: 'assign_role', id: 'auditor', allowed: true },
      ]),
    );
    await call('PUT', `/api/v1/users/${bob.id}/roles`, { as: root, json: { roles: [] } });
  });

  it('is not sent unless asked for', async () => {
    const res = await call('GET', `/api/v1/users/${bob.id}`, { as: root });
    expect(res.headers.get('latchkey-authz-checks')).toBeNull();
  });

  it("is not sent for an owner's key narrowed by scopes or an allow-list, only for an unnarrowed one", async () => {
    const bearer = async (name: string, scopes: string[], allowList: string[]) => {
      const { token } = await issueKey(kit.raw, {
        userId: root.id,
        name,
        loginType: 'token',
        scopes,
        allowList,
        lifetimeMs: 3_600_000,
        now: new Date(),
      });
      return { authorization: `Bearer ${token}`, 'latchkey-authz-checks': 'true' };
    };
    for (const headers of [
      await bearer('debug-scoped', ['user:read'], ['*:*']),
      await bearer('debug-listed', ['latchkey:all'], [`user:${root.id}`]),
    ]) {
      const res = await call('GET', '/api/v1/users/me', { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get('latchkey-authz-checks')).toBeNull();
    }
    const res = await call('GET', '/api/v1/users/me', {
      headers: await bearer('debug-full', ['latchkey:all'], ['*:*']),
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.headers.get('latchkey-authz-checks') ?? 'null')).toEqual([
      { action: 'read', type: 'user', id: root.id, allowed: true },
    ]);
  });

  it('is not sent to anyone but an owner', async () => {
    for (const who of [userAdmin, alice]) {
      const res = await call('GET', '/api/v1/users/me', {
        as: who,
        headers: { 'latchkey-authz-checks': 'true' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('latchkey-authz-checks')).toBeNull();
    }
  });
});

it('every users route needs a caller (401 with a Bearer challenge)', async () => {
  const routes: Array<[string, string, unknown?]> = [
    ['GET', '/api/v1/users'],
    ['POST', '/api/v1/users', { email: 'anon@example.com', username: 'anon' }],
    ['GET', '/api/v1/users/me'],
    ['GET', `/api/v1/users/${alice.id}`],
    ['PUT', `/api/v1/users/${alice.id}/roles`, { roles: ['owner'] }],
    ['PUT', `/api/v1/users/${alice.id}/status`, { status: 'suspended' }],
    ['DELETE', `/api/v1/users/${alice.id}`],
    ['GET', '/api/v1/roles'],
  ];
  for (const [method, path, json] of routes) {
    const res = await call(method, path, { json });
    expectError(res, 401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
  }
  expect(await kit.raw.getUserByUsername({ username: 'anon' })).toBeUndefined();
});
