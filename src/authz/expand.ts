import { type RoleIdentifier, sameRole } from './role-id.ts';
import { builtInRole, IMPLICIT_ORG_ROLE, IMPLICIT_SITE_ROLE, type Role } from './roles.ts';

/** Looks up a custom role; undefined when it does not exist or was deleted. */
export type CustomRoleLookup = (id: RoleIdentifier) => Role | undefined;

export interface RoleAssignments {
  readonly siteRoles: readonly string[];
  readonly memberships: ReadonlyArray<{ readonly organizationId: string; readonly roles: readonly string[] }>;
}

/**
 * Turns a user's stored role names into roles: the implicit `member` and
 * `organization-member` roles are added, and a name that is neither built in nor a live
 * custom role (deleted, or never existed) is skipped, never an error: a deleted custom
 * role must simply stop granting anything.
 */
export function expandRoles(assignments: RoleAssignments, custom: CustomRoleLookup): Role[] {
  const ids: RoleIdentifier[] = [{ name: IMPLICIT_SITE_ROLE, organizationId: undefined }];
  for (const name of assignments.siteRoles) ids.push({ name, organizationId: undefined });
  for (const m of assignments.memberships) {
    ids.push({ name: IMPLICIT_ORG_ROLE, organizationId: m.organizationId });
    for (const name of m.roles) ids.push({ name, organizationId: m.organizationId });
  }
  const roles: Role[] = [];
  for (const id of ids) {
    if (roles.some((r) => sameRole(r.id, id))) continue;
    const role = builtInRole(id) ?? (id.organizationId === undefined ? undefined : custom(id));
    if (role) roles.push(role);
  }
  return roles;
}
