import { describe, expect, it } from 'vitest';
import { expandRoles } from './expand.ts';
import { holdsRole } from './grant.ts';
import { allow } from './permission.ts';
import { orgRole, siteRole } from './role-id.ts';
import { builtInRole, type Role } from './roles.ts';
import { Subject } from './subject.ts';

const ORG = '00000000-0000-4000-8000-00000000000a';
const OTHER = '00000000-0000-4000-8000-00000000000b';

const subject = (siteRoles: string[], orgRoles: Record<string, string[]> = {}) =>
  new Subject({
    id: 'u',
    kind: 'user',
    roles: expandRoles(
      {
        siteRoles,
        memberships: Object.entries(orgRoles).map(([organizationId, roles]) => ({ organizationId, roles })),
      },
      () => undefined,
    ),
  });
const role = (name: string, org?: string) => builtInRole(org ? orgRole(name, org) : siteRole(name)) as Role;

describe('holdsRole (no privilege escalation through role assignment)', () => {
  it('owners hold every role', () => {
    const owner = subject(['owner']);
    expect(holdsRole(owner, role('owner'))).toBe(true);
    expect(holdsRole(owner, role('organization-admin', ORG))).toBe(true);
  });

  it('a user admin holds user-admin but not owner or auditor', () => {
    const ua = subject(['user-admin']);
    expect(holdsRole(ua, role('user-admin'))).toBe(true);
    expect(holdsRole(ua, role('member'))).toBe(true);
    expect(holdsRole(ua, role('owner'))).toBe(false);
    expect(holdsRole(ua, role('auditor'))).toBe(false);
  });

  it('organization roles are held only in their organization', () => {
    const admin = subject([], { [ORG]: ['organization-admin'] });
    expect(holdsRole(admin, role('organization-user-admin', ORG))).toBe(true);
    expect(holdsRole(admin, role('organization-admin', OTHER))).toBe(false);
    const userAdmin = subject([], { [ORG]: ['organization-user-admin'] });
    expect(holdsRole(userAdmin, role('organization-admin', ORG))).toBe(false);
  });

  it('a custom role is held only if its every permission is', () => {
    const custom: Role = {
      id: orgRole('template-editor', ORG),
      displayName: 'Template editor',
      site: [],
      org: allow('template', 'update'),
      user: [],
      builtIn: false,
    };
    expect(holdsRole(subject([], { [ORG]: ['organization-admin'] }), custom)).toBe(true);
    expect(holdsRole(subject([], { [ORG]: ['organization-user-admin'] }), custom)).toBe(false);
  });
});
