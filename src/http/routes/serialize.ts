import { IMPLICIT_ORG_ROLE, IMPLICIT_SITE_ROLE } from '../../authz/index.ts';
import type { CustomRole, Organization, OrganizationMember, User } from '../../db/index.ts';

// API shapes: snake_case, timestamps as ISO strings, never a password hash. Implicit
// roles are shown so a client sees what a user actually holds.

export function userJson(u: User) {
  return {
    id: u.id,
    username: u.username,
    email: u.email,
    name: u.name,
    status: u.status,
    login_type: u.login_type,
    roles: u.is_system ? [] : [IMPLICIT_SITE_ROLE, ...u.rbac_roles],
    is_system: u.is_system,
    created_at: u.created_at.toISOString(),
    updated_at: u.updated_at.toISOString(),
    last_seen_at: u.last_seen_at?.toISOString() ?? null,
  };
}

export function organizationJson(o: Organization) {
  return {
    id: o.id,
    name: o.name,
    display_name: o.display_name,
    description: o.description,
    icon: o.icon,
    is_default: o.is_default,
    created_at: o.created_at.toISOString(),
    updated_at: o.updated_at.toISOString(),
  };
}

export function memberJson(m: OrganizationMember) {
  return {
    organization_id: m.organization_id,
    user_id: m.user_id,
    roles: [IMPLICIT_ORG_ROLE, ...m.roles],
    created_at: m.created_at.toISOString(),
    updated_at: m.updated_at.toISOString(),
  };
}

export function customRoleJson(r: CustomRole) {
  return {
    name: r.name,
    organization_id: r.organization_id,
    display_name: r.display_name,
    organization_permissions: r.org_permissions,
    user_permissions: r.user_permissions,
    built_in: false,
  };
}
