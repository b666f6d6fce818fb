import { describe, expect, it } from 'vitest';
import { parseAllowList } from './allow-list.ts';
import { authorize, prepare } from './authorize.ts';
import { expandRoles } from './expand.ts';
import { objects } from './object.ts';
import { allow, deny } from './permission.ts';
import { orgRole } from './role-id.ts';
import type { Role } from './roles.ts';
import { Subject } from './subject.ts';

const ORG = '00000000-0000-4000-8000-00000000000a';
const OTHER_ORG = '00000000-0000-4000-8000-00000000000b';
const ALICE = '00000000-0000-4000-8000-0000000000a1';
const BOB = '00000000-0000-4000-8000-0000000000b0';

function user(
  id: string,
  siteRoles: string[] = [],
  orgRoles: Record<string, string[]> = {},
  custom: Role[] = [],
) {
  const roles = expandRoles(
    {
      siteRoles,
      memberships: Object.entries(orgRoles).map(([organizationId, roles]) => ({ organizationId, roles })),
    },
    (rid) => custom.find((r) => r.id.name === rid.name && r.id.organizationId === rid.organizationId),
  );
  return new Subject({ id, kind: 'user', roles });
}

const member = (m: { org: string; user: string }) =>
  objects.member({ organization_id: m.org, user_id: m.user });

describe('authorize: built-in roles', () => {
  it('owner may do anything anywhere', () => {
    const owner = user(ALICE, ['owner']);
    expect(authorize(owner, 'delete', objects.user({ id: BOB }))).toBe(true);
    expect(authorize(owner, 'update', objects.organization({ id: OTHER_ORG }))).toBe(true);
    expect(authorize(owner, 'assign', objects.assignRole())).toBe(true);
  });

  it('a member reads and updates only their own user and keys', () => {
    const alice = user(ALICE);
    expect(authorize(alice, 'read', objects.user({ id: ALICE }))).toBe(true);
    expect(authorize(alice, 'update', objects.user({ id: ALICE }))).toBe(true);
    expect(authorize(alice, 'delete', objects.user({ id: ALICE }))).toBe(false);
    expect(authorize(alice, 'read', objects.user({ id: BOB }))).toBe(false);
    expect(authorize(alice, 'read', { type: 'api_key', id: 'k1', ownerId: ALICE })).toBe(true);
    expect(authorize(alice, 'read', { type: 'api_key', id: 'k2', ownerId: BOB })).toBe(false);
    expect(authorize(alice, 'assign', objects.assignRole())).toBe(false);
  });

  it('an organization member sees the organization and their own membership, not other members', () => {
    const alice = user(ALICE, [], { [ORG]: [] });
    expect(authorize(alice, 'read', objects.organization({ id: ORG }))).toBe(true);
    expect(authorize(alice, 'read', objects.organization({ id: OTHER_ORG }))).toBe(false);
    expect(authorize(alice, 'read', member({ org: ORG, user: ALICE }))).toBe(true);
    expect(authorize(alice, 'read', member({ org: ORG, user: BOB }))).toBe(false);
    expect(authorize(alice, 'update', member({ org: ORG, user: ALICE }))).toBe(false);
  });

  it('an organization admin may do anything inside the organization and nothing outside it', () => {
    const admin = user(ALICE, [], { [ORG]: ['organization-admin'] });
    expect(authorize(admin, 'delete', member({ org: ORG, user: BOB }))).toBe(true);
    expect(authorize(admin, 'assign', objects.assignOrgRole(ORG))).toBe(true);
    expect(authorize(admin, 'read', member({ org: OTHER_ORG, user: BOB }))).toBe(false);
    expect(authorize(admin, 'assign', objects.assignOrgRole(OTHER_ORG))).toBe(false);
    expect(authorize(admin, 'read', objects.user({ id: BOB }))).toBe(false);
    expect(authorize(admin, 'assign', objects.assignRole())).toBe(false);
  });

  it('user-admin manages users site-wide but is not an owner', () => {
    const ua = user(ALICE, ['user-admin']);
    expect(authorize(ua, 'update', objects.user({ id: BOB }))).toBe(true);
    expect(authorize(ua, 'read', member({ org: OTHER_ORG, user: BOB }))).toBe(true);
    expect(authorize(ua, 'update', objects.organization({ id: ORG }))).toBe(false);
  });
});

describe('authorize: negative permissions, scopes and allow-lists', () => {
  const noKeys: Role = {
    id: orgRole('no-keys', ORG),
    displayName: 'No keys',
    site: [],
    org: deny('workspace', 'delete'),
    user: [],
    builtIn: false,
  };

  it('a negative permission at the organization level overrides ownership there', () => {
    const alice = user(ALICE, [], { [ORG]: ['no-keys'] }, [noKeys]);
    expect(authorize(alice, 'delete', { type: 'workspace', id: 'w', orgId: ORG, ownerId: ALICE })).toBe(
      false,
    );
    expect(authorize(alice, 'update', { type: 'workspace', id: 'w', orgId: ORG, ownerId: ALICE })).toBe(true);
  });

  it('a site-level grant wins over an organization-level negative (site is decided first)', () => {
    const owner = user(ALICE, ['owner'], { [ORG]: ['no-keys'] }, [noKeys]);
    expect(authorize(owner, 'delete', { type: 'workspace', id: 'w', orgId: ORG, ownerId: BOB })).toBe(true);
  });

  it('scopes narrow what roles allow, never widen it', () => {
    const roles = user(ALICE).roles;
    const readOnly = new Subject({ id: ALICE, kind: 'user', roles, scopes: allow('user', 'read') });
    expect(authorize(readOnly, 'read', objects.user({ id: ALICE }))).toBe(true);
    expect(authorize(readOnly, 'update', objects.user({ id: ALICE }))).toBe(false);
    const wide = new Subject({ id: ALICE, kind: 'user', roles, scopes: allow('*', '*') });
    expect(authorize(wide, 'read', objects.user({ id: BOB }))).toBe(false);
  });

  it('an allow-list narrows to the listed objects', () => {
    const list = parseAllowList(['api_key:k1']);
    if (!list.ok) throw new Error(list.error);
    const s = new Subject({ id: ALICE, kind: 'user', roles: user(ALICE).roles, allowList: list.entries });
    expect(authorize(s, 'read', { type: 'api_key', id: 'k1', ownerId: ALICE })).toBe(true);
    expect(authorize(s, 'read', { type: 'api_key', id: 'k2', ownerId: ALICE })).toBe(false);
    expect(authorize(s, 'read', objects.user({ id: ALICE }))).toBe(false);
  });
});

describe('prepare: list filters agree with authorize', () => {
  const rows = [
    member({ org: ORG, user: ALICE }),
    member({ org: ORG, user: BOB }),
    member({ org: OTHER_ORG, user: ALICE }),
    member({ org: OTHER_ORG, user: BOB }),
  ];

  it.each([
    ['owner', user(ALICE, ['owner'])],
    ['plain member of both', user(ALICE, [], { [ORG]: [], [OTHER_ORG]: [] })],
    ['org admin of one', user(ALICE, [], { [ORG]: ['organization-admin'], [OTHER_ORG]: [] })],
    ['nobody', user(BOB)],
  ])('%s', (_name, subject) => {
    const p = prepare(subject, 'read', 'organization_member');
    const viaFilter = rows.filter(
      (r) =>
        !p.none &&
        (p.all ||
          (r.orgId !== undefined && p.orgIds.includes(r.orgId)) ||
          (r.ownerId === p.ownerId && !p.deniedOrgIds.includes(r.orgId ?? '')) ||
          (r.ownerId === subject.id && p.ownerOrgIds.includes(r.orgId ?? ''))),
    );
    expect(viaFilter).toEqual(rows.filter((r) => authorize(subject, 'read', r)));
    expect(rows.filter(p.matches)).toEqual(viaFilter);
  });

  it('reports the ids of an allow-list', () => {
    const list = parseAllowList(['organization_member:x', 'workspace:*']);
    if (!list.ok) throw new Error(list.error);
    const s = new Subject({
      id: ALICE,
      kind: 'user',
      roles: user(ALICE, ['owner']).roles,
      allowList: list.entries,
    });
    expect(prepare(s, 'read', 'organization_member').ids).toEqual(['x']);
    expect(prepare(s, 'read', 'workspace').ids).toBeUndefined();
    expect(prepare(s, 'read', 'user').none).toBe(true);
  });
});

describe('expandRoles', () => {
  it('adds the implicit roles and ignores unknown or deleted custom roles', () => {
    const custom: Role = {
      id: orgRole('reviewer', ORG),
      displayName: 'Reviewer',
      site: [],
      org: [],
      user: [],
      builtIn: false,
    };
    const roles = expandRoles(
      {
        siteRoles: ['auditor', 'no-such-role'],
        memberships: [{ organizationId: ORG, roles: ['reviewer', 'deleted-role'] }],
      },
      (id) => (id.name === 'reviewer' ? custom : undefined),
    );
    expect(roles.map((r) => `${r.id.name}${r.id.organizationId ? `@org` : ''}`)).toEqual([
      'member',
      'auditor',
      'organization-member@org',
      'reviewer@org',
    ]);
  });
});
