import type { CustomRole, StoredPermission } from '../db/index.ts';
import type { Permission } from './permission.ts';
import { hasAction, isResourceType } from './resources.ts';
import { orgRole } from './role-id.ts';
import type { Role } from './roles.ts';

/** A stored permission as a Permission, or undefined if it names something unknown. */
export function permissionFromStored(p: StoredPermission): Permission | undefined {
  const typeOk = p.resource_type === '*' || isResourceType(p.resource_type);
  const actionOk =
    p.action === '*' ||
    (p.resource_type === '*'
      ? true
      : isResourceType(p.resource_type) && hasAction(p.resource_type, p.action));
  if (!typeOk || !actionOk) return undefined;
  return { resourceType: p.resource_type, action: p.action, negate: p.negate === true } as Permission;
}

export function permissionToStored(p: Permission): StoredPermission {
  return { resource_type: p.resourceType, action: p.action, negate: p.negate };
}

/**
 * A custom role row as a Role. Permissions that no longer parse (a resource type removed
 * in a later version) are dropped rather than failing every check of every holder.
 */
export function customRoleFromRow(row: CustomRole): Role {
  const parse = (list: StoredPermission[]) =>
    list.map(permissionFromStored).filter((p): p is Permission => !!p);
  return {
    id: orgRole(row.name, row.organization_id),
    displayName: row.display_name,
    site: [],
    org: parse(row.org_permissions),
    user: parse(row.user_permissions),
    builtIn: false,
  };
}
