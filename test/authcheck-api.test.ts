import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Organization, User } from '../src/db/index.ts';
import { apiClient, type Call, expectError } from './kit/api.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { testAuthenticator } from './kit/test-auth.ts';

// POST /api/v1/authcheck answers many "may I?" questions about the caller in one call.

const db = useTestDatabase();
let kit: StoreKit;
let server: TestServer;
let call: Call;
let org: Organization;
let other: Organization;
let root: User;
let orgAdmin: User;
let alice: User;
let bob: User;

beforeAll(async () => {
  kit = storeKit(db.url);
  org = await kit.raw.getDefaultOrganization();
  other = await kit.raw.insertOrganization({ name: 'other' });
  root = await kit.user('root', { siteRoles: ['owner'] });
  orgAdmin = await kit.user('orgadmin', { orgRoles: ['organization-admin'] });
  alice = await kit.user('alice');
  bob = await kit.user('bob');
  server = await startTestServer(db.url, { authenticate: testAuthenticator(kit) });
  call = apiClient(server);
});
afterAll(async () => {
  await server.close();
  await kit.close();
});

const authcheck = (as: User | undefined, body: unknown) =>
  call('POST', '/api/v1/authcheck', { as, json: body });

const checks = () => ({
  readOwnUser: { action: 'read', object: { resource_type: 'user', owner_id: 'me' } },
  readBob: { action: 'read', object: { resource_type: 'user', resource_id: bob.id, owner_id: bob.id } },
  createUser: { action: 'create', object: { resource_type: 'user' } },
  readOurOrg: { action: 'read', object: { resource_type: 'organization', organization_id: org.id } },
  readOtherOrg: { action: 'read', object: { resource_type: 'organization', organization_id: other.id } },
  createOwnKey: { action: 'create', object: { resource_type: 'api_key', owner_id: 'me' } },
  readMembers: { action: 'read', object: { resource_type: 'organization_member', organization_id: org.id } },
  readOtherMembers: {
    action: 'read',
    object: { resource_type: 'organization_member', organization_id: other.id },
  },
  readAuditLog: { action: 'read', object: { resource_type: 'audit_log' } },
});

describe('answers', () => {
  it('many checks in one call, each for the caller', async () => {
    const res = await authcheck(alice, { checks: checks() });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      readOwnUser: true,
      readBob: false,
      createUser: false,
      readOurOrg: true,
      readOtherOrg: false,
      createOwnKey: true,
      readMembers: false,
      readOtherMembers: false,
      readAuditLog: false,
    });
  });

  it('differently for an organization admin and for an owner', async () => {
    expect((await authcheck(orgAdmin, { checks: checks() })).body).toEqual({
      readOwnUser: true,
      readBob: false,
      createUser: false,
      readOurOrg: true,
      readOtherOrg: false,
      createOwnKey: true,
      readMembers: true,
      readOtherMembers: false,
      readAuditLog: false,
    });
    const owner = (await authcheck(root, { checks: checks() })).body;
    expect(Object.values(owner).every((v) => v === true)).toBe(true);
    expect(Object.keys(owner)).toEqual(Object.keys(checks()));
  });

  it('no checks, no answers', async () => {
    const res = await authcheck(alice, { checks: {} });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
  });

  it('up to 100 checks in one call', async () => {
    const many = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [
        `c${i}`,
        { action: 'read', object: { resource_type: 'user', owner_id: 'me' } },
      ]),
    );
    const res = await authcheck(alice, { checks: many });
    expect(Object.values(res.body)).toEqual(Array(100).fill(true));
  });
});

describe('refusals', () => {
  it('an unknown resource type is a 400 naming it and the check', async () => {
    const res = await authcheck(alice, {
      checks: {
        fine: { action: 'read', object: { resource_type: 'user' } },
        odd: { action: 'read', object: { resource_type: 'spaceship' } },
      },
    });
    expectError(res, 400, 'Unknown resource type "spaceship"');
    expect(res.body.detail).toBe('check "odd"');
  });

  it('an unknown action, or one the type does not have, is a 400 naming it', async () => {
    const unknown = await authcheck(alice, {
      checks: { a: { action: 'teleport', object: { resource_type: 'user' } } },
    });
    expectError(unknown, 400, '"teleport" is not an action on user');
    const wrongType = await authcheck(alice, {
      checks: { b: { action: 'use', object: { resource_type: 'user' } } },
    });
    expectError(wrongType, 400, '"use" is not an action on user');
    expect(wrongType.body.detail).toBe('check "b"');
  });

  it('an anonymous caller gets a 401', async () => {
    const res = await authcheck(undefined, { checks: checks() });
    expectError(res, 401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  const malformed: Array<[string, { json?: unknown; raw?: string }, RegExp]> = [
    ['invalid JSON', { raw: '{"checks": {' }, /not valid JSON/],
    ['no checks', { json: {} }, /checks/],
    ['checks not an object', { json: { checks: [] } }, /checks/],
    ['a check without an object', { json: { checks: { a: { action: 'read' } } } }, /checks\.a\.object/],
    [
      'a check without an action',
      { json: { checks: { a: { object: { resource_type: 'user' } } } } },
      /checks\.a\.action/,
    ],
    [
      'an organization id that is not a uuid',
      {
        json: {
          checks: {
            a: { action: 'read', object: { resource_type: 'organization', organization_id: 'default' } },
          },
        },
      },
      /organization_id/,
    ],
    [
      'more than 100 checks',
      {
        json: {
          checks: Object.fromEntries(
            Array.from({ length: 101 }, (_, i) => [
              `c${i}`,
              { action: 'read', object: { resource_type: 'user' } },
            ]),
          ),
        },
      },
      /at most 100 checks/,
    ],
  ];
  for (const [what, body, detail] of malformed) {
    it(`${what} is a 400 with { message, detail }`, async () => {
      const res = await call('POST', '/api/v1/authcheck', { as: alice, ...body });
      expectError(res, 400, detail);
      expect(res.body.detail).toEqual(expect.any(String));
    });
  }
});
