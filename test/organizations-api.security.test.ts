import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Organization, User } from '../src/db/index.ts';
import { apiClient, type Call, expectError } from './kit/api.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { testAuthenticator } from './kit/test-auth.ts';

const db = useTestDatabase();
let kit: StoreKit;
let server: TestServer;
let call: Call;
let org: Organization;
let other: Organization;
let root: User;
let orgAdmin: User;
let orgUserAdmin: User;
let alice: User;
let bob: User;
let carol: User;

beforeAll(async () => {
  kit = storeKit(db.url);
  org = await kit.raw.getDefaultOrganization();
  other = await kit.raw.insertOrganization({ name: 'other' });
  root = await kit.user('root', { siteRoles: ['owner'] });
  orgAdmin = await kit.user('orgadmin', { orgRoles: ['organization-admin'] });
  orgUserAdmin = await kit.user('orguseradmin', { orgRoles: ['organization-user-admin'] });
  alice = await kit.user('alice');
  bob = await kit.user('bob');
  // carol belongs to "other" only.
  carol = await kit.raw.insertUser({ email: 'carol@example.com', username: 'carol' });
  await kit.raw.insertOrganizationMember({ organizationId: other.id, userId: carol.id, roles: [] });
  server = await startTestServer(db.url, { authenticate: testAuthenticator(kit) });
  call = apiClient(server);
});
afterAll(async () => {
  await server.close();
  await kit.close();
});

const memberRoles = async (user: User, organizationId = org.id) =>
  (await kit.raw.getOrganizationMember({ organizationId, userId: user.id }))?.roles;

describe('no privilege escalation', () => {
  it('an organization user admin cannot grant organization-admin (403)', async () => {
    const res = await call('PUT', `/api/v1/organizations/default/members/${bob.id}/roles`, {
      as: orgUserAdmin,
      json: { roles: ['organization-admin'] },
    });
    expectError(res, 403, /assign/);
    expect(await memberRoles(bob)).toEqual([]);
  });

  it('nor any role holding more than they do, nor to themselves', async () => {
    const auditor = await call('PUT', `/api/v1/organizations/default/members/${bob.id}/roles`, {
      as: orgUserAdmin,
      json: { roles: ['organization-auditor'] }, // reads audit logs, which they cannot
    });
    expectError(auditor, 403);
    const self = await call('PUT', '/api/v1/organizations/default/members/me/roles', {
      as: orgUserAdmin,
      json: { roles: ['organization-user-admin', 'organization-admin'] },
    });
    expectError(self, 403);
    const adding = await kit.raw.insertUser({ email: 'dan@example.com', username: 'dan' });
    const add = await call('POST', '/api/v1/organizations/default/members', {
      as: orgUserAdmin,
      json: { user_id: adding.id, roles: ['organization-admin'] },
    });
    expectError(add, 403);
    expect(
      await kit.raw.getOrganizationMember({ organizationId: org.id, userId: adding.id }),
    ).toBeUndefined();
  });

  it('but can grant and revoke what they hold', async () => {
    const res = await call('PUT', `/api/v1/organizations/default/members/${bob.id}/roles`, {
      as: orgUserAdmin,
      json: { roles: ['organization-user-admin'] },
    });
    expect(res.status).toBe(200);
    expect(await memberRoles(bob)).toEqual(['organization-user-admin']);
    await call('PUT', `/api/v1/organizations/default/members/${bob.id}/roles`, {
      as: orgUserAdmin,
      json: { roles: [] },
    });
    expect(await memberRoles(bob)).toEqual([]);
  });

  it('an organization user admin cannot take organization-admin away either', async () => {
    const res = await call('PUT', `/api/v1/organizations/default/members/${orgAdmin.id}/roles`, {
      as: orgUserAdmin,
      json: { roles: [] },
    });
    expectError(res, 403, /unassign/);
    expect(await memberRoles(orgAdmin)).toEqual(['organization-admin']);
  });

  it('creating a custom role that grants what you do not hold is a 403', async () => {
    // A role whose holders may create roles, and nothing else.
    const maker = await call('POST', '/api/v1/organizations/default/roles', {
      as: root,
      json: {
        name: 'role-maker',
        organization_permissions: [
          { resource_type: 'role', action: 'create' },
          { resource_type: 'role', action: 'read' },
        ],
      },
    });
    expect(maker.status).toBe(201);
    const rita = await kit.user('rita', { orgRoles: ['role-maker'] });
    const create = (name: string, perms: Record<string, unknown>) =>
      call('POST', '/api/v1/organizations/default/roles', { as: rita, json: { name, ...perms } });

    for (const [name, perms] of [
      ['deleter', { organization_permissions: [{ resource_type: 'organization_member', action: 'delete' }] }],
      ['everything', { organization_permissions: [{ resource_type: '*', action: '*' }] }],
      ['role-admin', { organization_permissions: [{ resource_type: 'role', action: '*' }] }],
      ['org-updater', { user_permissions: [{ resource_type: 'organization', action: 'update' }] }],
    ] as const) {
      expectError(await create(name, perms), 403, /create/);
      expect(await kit.raw.getCustomRole({ organizationId: org.id, name })).toBeUndefined();
    }
    // What she holds, she may pass on.
    const held = await create('role-reader', {
      organization_permissions: [{ resource_type: 'role', action: 'read' }],
    });
    expect(held.status).toBe(201);
  });

  it('an organization admin cannot create roles in, or touch, an organization they are not in (404)', async () => {
    for (const [method, path, json] of [
      ['GET', '/api/v1/organizations/other'],
      ['GET', '/api/v1/organizations/other/members'],
      ['POST', '/api/v1/organizations/other/roles', { name: 'sneaky' }],
      [
        'POST',
        '/api/v1/organizations/other/members',
        { user_id: orgAdmin.id, roles: ['organization-admin'] },
      ],
      ['PUT', `/api/v1/organizations/other/members/${carol.id}/roles`, { roles: ['organization-admin'] }],
      ['DELETE', `/api/v1/organizations/other/members/${carol.id}`],
    ] as Array<[string, string, unknown?]>) {
      expectError(await call(method, path, { as: orgAdmin, json }), 404, 'No organization "other"');
    }
    expect(await memberRoles(carol, other.id)).toEqual([]);
    expect(
      await kit.raw.getOrganizationMember({ organizationId: other.id, userId: orgAdmin.id }),
    ).toBeUndefined();
  });

  it('an organization admin cannot grant site roles: users are not theirs to read (404)', async () => {
    const res = await call('PUT', `/api/v1/users/${bob.id}/roles`, {
      as: orgAdmin,
      json: { roles: ['auditor'] },
    });
    expectError(res, 404);
    expect((await kit.raw.getUserById({ id: bob.id }))?.rbac_roles).toEqual([]);
  });

  it('only owners create organizations', async () => {
    for (const who of [orgAdmin, orgUserAdmin, alice]) {
      expectError(
        await call('POST', '/api/v1/organizations', { as: who, json: { name: `by-${who.username}` } }),
        403,
      );
    }
    expect(await kit.raw.getOrganizationByName({ name: 'by-alice' })).toBeUndefined();
  });
});

describe('what a plain member may do', () => {
  it('may not add, change or remove members, nor create or delete roles', async () => {
    const dora = await kit.raw.insertUser({ email: 'dora@example.com', username: 'dora' });
    expectError(
      await call('POST', '/api/v1/organizations/default/members', { as: alice, json: { user_id: dora.id } }),
      403,
    );
    expectError(
      await call('POST', '/api/v1/organizations/default/roles', { as: alice, json: { name: 'mine' } }),
      403,
      /create/,
    );
    // Custom roles are not visible to her, so deleting one looks like deleting nothing.
    expectError(await call('DELETE', '/api/v1/organizations/default/roles/role-maker', { as: alice }), 404);
    expect(await kit.raw.getCustomRole({ organizationId: org.id, name: 'role-maker' })).toBeDefined();
    // Her own membership is hers to read, not to change.
    expectError(
      await call('PUT', '/api/v1/organizations/default/members/me/roles', {
        as: alice,
        json: { roles: ['organization-auditor'] },
      }),
      403,
    );
    expectError(await call('DELETE', '/api/v1/organizations/default/members/me', { as: alice }), 403);
    expect(await memberRoles(alice)).toEqual([]);
  });

  it('sees herself among the members and no custom roles', async () => {
    const members = await call('GET', '/api/v1/organizations/default/members', { as: alice });
    expect(members.body.members.map((m: { user_id: string }) => m.user_id)).toEqual([alice.id]);
    const roles = await call('GET', '/api/v1/organizations/default/roles', { as: alice });
    expect(roles.body.roles.every((r: { built_in: boolean }) => r.built_in)).toBe(true);
    const asAdmin = await call('GET', '/api/v1/organizations/default/roles', { as: orgAdmin });
    expect(asAdmin.body.roles.map((r: { name: string }) => r.name)).toContain('role-maker');
  });

  it('of another organization, finds ours exactly as she would a missing one', async () => {
    const ours = await call('GET', `/api/v1/organizations/${org.id}`, { as: carol });
    const missing = '00000000-0000-4000-8000-000000000001';
    const none = await call('GET', `/api/v1/organizations/${missing}`, { as: carol });
    expect([ours.status, none.status]).toEqual([404, 404]);
    expect(ours.body).toEqual({ message: `No organization "${org.id}".` });
    expect(none.body).toEqual({ message: `No organization "${missing}".` });
    const list = await call('GET', '/api/v1/organizations', { as: carol });
    expect(list.body.organizations.map((o: { name: string }) => o.name)).toEqual(['other']);
  });
});

it('every organizations route needs a caller (401 with a Bearer challenge)', async () => {
  const routes: Array<[string, string, unknown?]> = [
    ['GET', '/api/v1/organizations'],
    ['POST', '/api/v1/organizations', { name: 'anon' }],
    ['GET', '/api/v1/organizations/default'],
    ['GET', '/api/v1/organizations/default/members'],
    ['POST', '/api/v1/organizations/default/members', { user_id: alice.id }],
    ['GET', `/api/v1/organizations/default/members/${alice.id}`],
    ['PUT', `/api/v1/organizations/default/members/${alice.id}/roles`, { roles: ['organization-admin'] }],
    ['DELETE', `/api/v1/organizations/default/members/${alice.id}`],
    ['GET', '/api/v1/organizations/default/roles'],
    ['POST', '/api/v1/organizations/default/roles', { name: 'anon' }],
    ['DELETE', '/api/v1/organizations/default/roles/role-maker'],
  ];
  for (const [method, path, json] of routes) {
    const res = await call(method, path, { json });
    expectError(res, 401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
  }
  expect(await memberRoles(alice)).toEqual([]);
  expect(await kit.raw.getCustomRole({ organizationId: org.id, name: 'role-maker' })).toBeDefined();
});
