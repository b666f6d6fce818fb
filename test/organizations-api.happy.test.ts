import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORG_ROLES, SITE_ROLES } from '../src/authz/index.ts';
import type { Organization, User } from '../src/db/index.ts';
import { apiClient, type Call, invalidated, orgChanged, userChanged } from './kit/api.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { testAuthenticator } from './kit/test-auth.ts';

const db = useTestDatabase();
let kit: StoreKit;
let server: TestServer;
let call: Call;
let defaultOrg: Organization;
let root: User;
let mia: User;

beforeAll(async () => {
  kit = storeKit(db.url);
  defaultOrg = await kit.raw.getDefaultOrganization();
  root = await kit.user('root', { siteRoles: ['owner'] });
  mia = await kit.user('mia');
  server = await startTestServer(db.url, { authenticate: testAuthenticator(kit) });
  call = apiClient(server);
});
afterAll(async () => {
  await server.close();
  await kit.close();
});

describe('organizations', () => {
  let acme: { id: string; name: string };

  it('an owner creates one (201) and finds it by name or id', async () => {
    const res = await call('POST', '/api/v1/organizations', {
      as: root,
      json: { name: 'acme', display_name: 'Acme Inc.', description: 'Makers of everything' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'acme',
      display_name: 'Acme Inc.',
      description: 'Makers of everything',
      is_default: false,
    });
    acme = res.body;
    for (const ref of ['acme', acme.id]) {
      const got = await call('GET', `/api/v1/organizations/${ref}`, { as: root });
      expect(got.body).toEqual(res.body);
    }
  });

  it('an owner lists every organization; a member only their own', async () => {
    const all = await call('GET', '/api/v1/organizations', { as: root });
    expect(all.body.organizations.map((o: { name: string }) => o.name)).toEqual(['acme', 'default']);
    const mine = await call('GET', '/api/v1/organizations', { as: mia });
    expect(mine.body.organizations).toEqual([
      expect.objectContaining({ id: defaultOrg.id, is_default: true }),
    ]);
  });

  it('members are added (201), read, given roles, listed and removed (204)', async () => {
    const added = await call('POST', `/api/v1/organizations/acme/members`, {
      as: root,
      json: { user_id: mia.id, roles: ['organization-auditor'] },
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      organization_id: acme.id,
      user_id: mia.id,
      roles: ['organization-member', 'organization-auditor'],
    });

    for (const ref of [mia.id, 'mia']) {
      const got = await call('GET', `/api/v1/organizations/acme/members/${ref}`, { as: root });
      expect(got.body).toEqual(added.body);
    }
    // A member reads their own membership as `me`.
    const own = await call('GET', `/api/v1/organizations/${acme.id}/members/me`, { as: mia });
    expect(own.body).toMatchObject({ user_id: mia.id });

    const changed = await call('PUT', `/api/v1/organizations/acme/members/mia/roles`, {
      as: root,
      json: { roles: ['organization-user-admin', 'organization-member'] },
    });
    expect(changed.status).toBe(200);
    expect(changed.body.roles).toEqual(['organization-member', 'organization-user-admin']);

    const list = await call('GET', '/api/v1/organizations/acme/members', { as: root });
    expect(list.body.members.map((m: { user_id: string }) => m.user_id)).toEqual([mia.id]);

    expect((await call('DELETE', `/api/v1/organizations/acme/members/${mia.id}`, { as: root })).status).toBe(
      204,
    );
    expect((await call('GET', `/api/v1/organizations/acme/members/${mia.id}`, { as: root })).status).toBe(
      404,
    );
    expect(await kit.raw.getOrganizationMember({ organizationId: acme.id, userId: mia.id })).toBeUndefined();
  });

  it('an organization admin manages the members of their organization', async () => {
    const oscar = await kit.user('oscar', { orgRoles: ['organization-admin'] });
    const nina = await kit.raw.insertUser({ email: 'nina@example.com', username: 'nina' });
    const res = await call('POST', '/api/v1/organizations/default/members', {
      as: oscar,
      json: { user_id: nina.id, roles: ['organization-auditor'] },
    });
    expect(res.status).toBe(201);
    const list = await call('GET', '/api/v1/organizations/default/members', { as: oscar });
    expect(list.body.members.map((m: { user_id: string }) => m.user_id)).toContain(nina.id);
    expect(
      (await call('DELETE', `/api/v1/organizations/default/members/${nina.id}`, { as: oscar })).status,
    ).toBe(204);
  });
});

describe('roles', () => {
  it('GET /api/v1/roles lists the built-in site roles', async () => {
    const res = await call('GET', '/api/v1/roles', { as: mia });
    expect(res.body.roles.map((r: { name: string }) => r.name)).toEqual([...SITE_ROLES]);
    expect(res.body.roles[0]).toEqual({
      name: 'owner',
      organization_id: null,
      display_name: 'Owner',
      built_in: true,
    });
  });

  it("an organization's roles are the built-in organization roles, bound to it", async () => {
    const res = await call('GET', '/api/v1/organizations/default/roles', { as: root });
    expect(res.body.roles).toEqual(
      ORG_ROLES.map((name) =>
        expect.objectContaining({ name, organization_id: defaultOrg.id, built_in: true }),
      ),
    );
  });
});

describe('a custom role', () => {
  const authcheck = async (user: User) => {
    const object = (type: string, extra: Record<string, string> = {}) => ({
      resource_type: type,
      organization_id: defaultOrg.id,
      ...extra,
    });
    const res = await call('POST', '/api/v1/authcheck', {
      as: user,
      json: {
        checks: {
          readTemplate: { action: 'read', object: object('template') },
          updateTemplate: { action: 'update', object: object('template') },
          useTemplate: { action: 'use', object: object('template') },
          readWorkspace: { action: 'read', object: object('workspace') },
          readMembers: { action: 'read', object: object('organization_member') },
        },
      },
    });
    expect(res.status).toBe(200);
    return res.body;
  };
  const nothing = {
    readTemplate: false,
    updateTemplate: false,
    useTemplate: false,
    readWorkspace: false,
    readMembers: false,
  };

  it('is created (201), listed, grants exactly its permissions, and stops when deleted (204)', async () => {
    expect(await authcheck(mia)).toEqual(nothing);

    const created = await call('POST', '/api/v1/organizations/default/roles', {
      as: root,
      json: {
        name: 'template-reader',
        display_name: 'Template reader',
        organization_permissions: [{ resource_type: 'template', action: 'read' }],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      name: 'template-reader',
      organization_id: defaultOrg.id,
      display_name: 'Template reader',
      organization_permissions: [{ resource_type: 'template', action: 'read', negate: false }],
      user_permissions: [],
      built_in: false,
    });
    const listed = await call('GET', '/api/v1/organizations/default/roles', { as: root });
    expect(listed.body.roles).toContainEqual(created.body);

    // Role changes reach the server's subject cache by LISTEN/NOTIFY: wait for it.
    const granted = invalidated(server, userChanged(mia.id));
    const assign = await call('PUT', `/api/v1/organizations/default/members/${mia.id}/roles`, {
      as: root,
      json: { roles: ['template-reader'] },
    });
    expect(assign.body.roles).toEqual(['organization-member', 'template-reader']);
    await granted;
    expect(await authcheck(mia)).toEqual({ ...nothing, readTemplate: true });

    const removed = invalidated(server, orgChanged(defaultOrg.id));
    expect(
      (await call('DELETE', '/api/v1/organizations/default/roles/template-reader', { as: root })).status,
    ).toBe(204);
    await removed;
    expect(await authcheck(mia)).toEqual(nothing);
    const after = await call('GET', '/api/v1/organizations/default/roles', { as: root });
    expect(after.body.roles.map((r: { name: string }) => r.name)).not.toContain('template-reader');
  });

  it('may grant on owned objects only (user permissions)', async () => {
    const created = await call('POST', '/api/v1/organizations/default/roles', {
      as: root,
      json: { name: 'own-templates', user_permissions: [{ resource_type: 'template', action: '*' }] },
    });
    expect(created.status).toBe(201);
    const tom = await kit.user('tom', { orgRoles: ['own-templates'] });
    const res = await call('POST', '/api/v1/authcheck', {
      as: tom,
      json: {
        checks: {
          own: {
            action: 'update',
            object: { resource_type: 'template', organization_id: defaultOrg.id, owner_id: 'me' },
          },
          others: {
            action: 'update',
            object: { resource_type: 'template', organization_id: defaultOrg.id, owner_id: mia.id },
          },
        },
      },
    });
    expect(res.body).toEqual({ own: true, others: false });
  });
});
