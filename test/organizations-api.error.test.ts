import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Organization, User } from '../src/db/index.ts';
import { apiClient, type Call, expectError } from './kit/api.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { TcpProxy } from './kit/tcp-proxy.ts';
import { testAuthenticator } from './kit/test-auth.ts';

const db = useTestDatabase();
let kit: StoreKit;
let server: TestServer;
let call: Call;
let org: Organization;
let root: User;
let alice: User;

beforeAll(async () => {
  kit = storeKit(db.url);
  org = await kit.raw.getDefaultOrganization();
  root = await kit.user('root', { siteRoles: ['owner'] });
  alice = await kit.user('alice');
  server = await startTestServer(db.url, { authenticate: testAuthenticator(kit) });
  call = apiClient(server);
});
afterAll(async () => {
  await server.close();
  await kit.close();
});

const aliceRoles = async () =>
  (await kit.raw.getOrganizationMember({ organizationId: org.id, userId: alice.id }))?.roles;
const MISSING = '00000000-0000-4000-8000-00000000beef';

describe('unknown and misplaced role names', () => {
  it('an unknown organization role is a 400 naming it, and no role is changed', async () => {
    const res = await call('PUT', `/api/v1/organizations/default/members/${alice.id}/roles`, {
      as: root,
      json: { roles: ['organization-auditor', 'organization-wizard'] },
    });
    expectError(res, 400, 'Unknown organization role "organization-wizard"');
    expect(await aliceRoles()).toEqual([]);
  });

  it('an unknown role when adding a member is a 400 naming it, and nobody is added', async () => {
    const acme = await kit.raw.insertOrganization({ name: 'acme' });
    const res = await call('POST', '/api/v1/organizations/acme/members', {
      as: root,
      json: { user_id: alice.id, roles: ['no-such-role'] },
    });
    expectError(res, 400, '"no-such-role"');
    expect(
      await kit.raw.getOrganizationMember({ organizationId: acme.id, userId: alice.id }),
    ).toBeUndefined();
  });

  it('a custom role of another organization is unknown here', async () => {
    const other = await kit.raw.insertOrganization({ name: 'elsewhere' });
    await kit.raw.insertCustomRole({
      organizationId: other.id,
      name: 'elsewhere-only',
      displayName: 'x',
      orgPermissions: [],
      userPermissions: [],
    });
    const res = await call('PUT', `/api/v1/organizations/default/members/${alice.id}/roles`, {
      as: root,
      json: { roles: ['elsewhere-only'] },
    });
    expectError(res, 400, '"elsewhere-only"');
  });

  it('a site role given as an organization role is a 400 that says where it belongs', async () => {
    for (const role of ['owner', 'user-admin', 'member', 'auditor']) {
      const res = await call('PUT', `/api/v1/organizations/default/members/${alice.id}/roles`, {
        as: root,
        json: { roles: [role] },
      });
      expectError(res, 400, `"${role}" is a site role, not an organization role`);
      expect(res.body.detail).toContain('/api/v1/users/{user}/roles');
    }
    const post = await call('POST', '/api/v1/organizations/acme/members', {
      as: root,
      json: { user_id: alice.id, roles: ['owner'] },
    });
    expectError(post, 400, '"owner" is a site role');
    expect(await aliceRoles()).toEqual([]);
  });
});

describe('things that do not exist', () => {
  it('an organization: 404 on every route that names one', async () => {
    for (const ref of ['nope', MISSING, 'Not_A_Name', '%00']) {
      const routes: Array<[string, string, unknown?]> = [
        ['GET', `/api/v1/organizations/${ref}`],
        ['GET', `/api/v1/organizations/${ref}/members`],
        ['POST', `/api/v1/organizations/${ref}/members`, { user_id: alice.id }],
        ['GET', `/api/v1/organizations/${ref}/members/${alice.id}`],
        ['PUT', `/api/v1/organizations/${ref}/members/${alice.id}/roles`, { roles: [] }],
        ['DELETE', `/api/v1/organizations/${ref}/members/${alice.id}`],
        ['GET', `/api/v1/organizations/${ref}/roles`],
        ['POST', `/api/v1/organizations/${ref}/roles`, { name: 'x' }],
        ['DELETE', `/api/v1/organizations/${ref}/roles/x`],
      ];
      for (const [method, path, json] of routes) {
        expectError(await call(method, path, { as: root, json }), 404, 'No organization');
      }
    }
  });

  it('a member: 404 for a user who is not one, by id, username or as nobody at all', async () => {
    const outsider = await kit.raw.insertUser({ email: 'out@example.com', username: 'outsider' });
    for (const ref of [outsider.id, 'outsider', MISSING, 'nobody', '%00']) {
      for (const [method, path, json] of [
        ['GET', `/api/v1/organizations/default/members/${ref}`],
        ['PUT', `/api/v1/organizations/default/members/${ref}/roles`, { roles: [] }],
        ['DELETE', `/api/v1/organizations/default/members/${ref}`],
      ] as Array<[string, string, unknown?]>) {
        expectError(await call(method, path, { as: root, json }), 404);
      }
    }
  });

  it('adding a user who does not exist is a 404; adding a member twice is a 409', async () => {
    const missing = await call('POST', '/api/v1/organizations/default/members', {
      as: root,
      json: { user_id: MISSING },
    });
    expectError(missing, 404, 'No such user');
    const twice = await call('POST', '/api/v1/organizations/default/members', {
      as: root,
      json: { user_id: alice.id },
    });
    expectError(twice, 409, 'already a member');
  });

  it('deleting a custom role that does not exist (or cannot) is a 404', async () => {
    for (const name of ['never-made', 'organization-admin', 'Bad%20Name', '%00']) {
      expectError(await call('DELETE', `/api/v1/organizations/default/roles/${name}`, { as: root }), 404);
    }
  });
});

describe('conflicts and invalid definitions', () => {
  it('an organization name that is taken is a 409', async () => {
    const res = await call('POST', '/api/v1/organizations', { as: root, json: { name: 'default' } });
    expectError(res, 409, '"default" exists');
  });

  it('custom roles: bad names 400, built-in names and duplicates 409', async () => {
    const post = (json: unknown) => call('POST', '/api/v1/organizations/default/roles', { as: root, json });
    expectError(await post({ name: 'Has Caps' }), 400, '"Has Caps" is not a valid role name');
    expectError(await post({ name: '' }), 400, 'not a valid role name');
    expectError(await post({ name: 'organization-admin' }), 409, 'built-in');
    expectError(await post({ name: 'owner' }), 409, 'built-in');
    expect((await post({ name: 'twice' })).status).toBe(201);
    expectError(await post({ name: 'twice' }), 409, '"twice" exists');
  });

  it('custom roles: an unknown resource type or action is a 400 naming it', async () => {
    const post = (perm: unknown, where = 'organization_permissions') =>
      call('POST', '/api/v1/organizations/default/roles', { as: root, json: { name: 'r', [where]: [perm] } });
    expectError(
      await post({ resource_type: 'spaceship', action: 'read' }),
      400,
      'Unknown resource type "spaceship"',
    );
    expectError(await post({ resource_type: 'user', action: 'fly' }), 400, '"fly" is not an action on user');
    // `use` is a real action, but not one users have.
    expectError(await post({ resource_type: 'user', action: 'use' }), 400, '"use" is not an action on user');
    expectError(
      await post({ resource_type: 'dragon', action: 'read' }, 'user_permissions'),
      400,
      'Unknown resource type "dragon"',
    );
    expect(await kit.raw.getCustomRole({ organizationId: org.id, name: 'r' })).toBeUndefined();
  });
});

describe('malformed requests are 400 with { message, detail }, never 500', () => {
  const bad: Array<[string, string, { json?: unknown; raw?: string }, RegExp]> = [
    ['POST', '/api/v1/organizations', { raw: '{"name":' }, /not valid JSON/],
    ['POST', '/api/v1/organizations', { json: {} }, /name/],
    ['POST', '/api/v1/organizations', { json: { name: 'Upper' } }, /name/],
    ['POST', '/api/v1/organizations', { json: { name: 7 } }, /name/],
    ['POST', '/api/v1/organizations', { json: { name: 'ok', description: 'a\u0000' } }, /description/],
    ['POST', '/api/v1/organizations/default/members', { json: {} }, /user_id/],
    ['POST', '/api/v1/organizations/default/members', { json: { user_id: 'alice' } }, /user_id/],
    ['POST', '/api/v1/organizations/default/members', { json: { user_id: MISSING, roles: 'x' } }, /roles/],
    ['PUT', '/api/v1/organizations/default/members/me/roles', { json: { roles: [null] } }, /roles\.0/],
    ['PUT', '/api/v1/organizations/default/members/me/roles', { raw: 'roles' }, /not valid JSON/],
    ['POST', '/api/v1/organizations/default/roles', { json: {} }, /name/],
    [
      'POST',
      '/api/v1/organizations/default/roles',
      { json: { name: 'r', organization_permissions: {} } },
      /organization_permissions/,
    ],
    [
      'POST',
      '/api/v1/organizations/default/roles',
      { json: { name: 'r', user_permissions: [{ resource_type: 'user' }] } },
      /user_permissions\.0\.action/,
    ],
    [
      'POST',
      '/api/v1/organizations/default/roles',
      { json: { name: 'r', user_permissions: [{ resource_type: 'user', action: 'read', negate: 'no' }] } },
      /negate/,
    ],
  ];
  for (const [method, path, body, detail] of bad) {
    it(`${method} ${path} ${body.raw ?? JSON.stringify(body.json)}`, async () => {
      const res = await call(method, path, { as: root, ...body });
      expectError(res, 400, detail);
      expect(res.body.detail).toEqual(expect.any(String));
    });
  }
});

describe('while the database is unreachable', () => {
  it('an organization lookup or a role check is a 500, not "not found" or "unknown role"', async () => {
    const u = new URL(db.url);
    const proxy = new TcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
    await proxy.start();
    const viaProxy = await startTestServer(proxy.urlFor(db.url), { authenticate: testAuthenticator(kit) });
    const callProxy = apiClient(viaProxy);
    try {
      // Cache root's subject and the default organization while the database is there, so
      // that afterwards the lookups under test are the first thing to meet the outage.
      expect((await callProxy('GET', '/api/v1/organizations/default', { as: root })).status).toBe(200);
      await proxy.stop();

      const lookup = await callProxy('GET', '/api/v1/organizations/acme', { as: root });
      expectError(lookup, 500, 'Internal server error.');
      const add = await callProxy('POST', '/api/v1/organizations/default/members', {
        as: root,
        json: { user_id: MISSING, roles: ['maybe-custom'] },
      });
      expectError(add, 500, 'Internal server error.');
    } finally {
      await proxy.start();
      await viaProxy.close();
      await proxy.stop();
    }
  });
});
