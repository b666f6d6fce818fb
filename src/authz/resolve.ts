import type { Store, User } from '../db/index.ts';
import type { AllowListEntry } from './allow-list.ts';
import { customRoleFromRow } from './custom-role.ts';
import { expandRoles } from './expand.ts';
import type { Permission } from './permission.ts';
import { sameRole } from './role-id.ts';
import { Subject } from './subject.ts';

export interface CredentialLimits {
  readonly scopes?: readonly Permission[] | undefined;
  readonly allowList?: readonly AllowListEntry[] | undefined;
}

/**
 * Builds the Subject for an authenticated user: their site roles, their memberships'
 * organization roles and the live custom roles those name. `store` must be bound to
 * systemAuthn (it reads other rows than the user's own). System users hold no roles.
 */
export async function resolveSubject(
  store: Store,
  user: User,
  limits: CredentialLimits = {},
): Promise<Subject> {
  if (user.is_system) return new Subject({ id: user.id, kind: 'user', roles: [], ...limits });
  const memberships = await store.listMembershipsOfUser({ userId: user.id });
  const custom = (
    await store.listCustomRoles({ organizationIds: memberships.map((m) => m.organization_id) })
  ).map(customRoleFromRow);
  const roles = expandRoles(
    {
      siteRoles: user.rbac_roles,
      memberships: memberships.map((m) => ({ organizationId: m.organization_id, roles: m.roles })),
    },
    (id) => custom.find((r) => sameRole(r.id, id)),
  );
  return new Subject({ id: user.id, kind: 'user', roles, ...limits });
}
