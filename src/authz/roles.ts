import { allow, type Permission } from './permission.ts';
import { orgRole, type RoleIdentifier, siteRole } from './role-id.ts';

/**
 * A role grants permissions at three levels:
 * - `site`: on every object;
 * - `org`: on objects of the role's organization (organization roles only);
 * - `user`: on objects the subject owns (within the role's organization, for org roles).
 */
export interface Role {
  readonly id: RoleIdentifier;
  readonly displayName: string;
  readonly site: readonly Permission[];
  readonly org: readonly Permission[];
  readonly user: readonly Permission[];
  readonly builtIn: boolean;
}

export const SITE_ROLES = ['owner', 'member', 'auditor', 'user-admin'] as const;
export type SiteRoleName = (typeof SITE_ROLES)[number];
export const ORG_ROLES = [
  'organization-admin',
  'organization-member',
  'organization-user-admin',
  'organization-auditor',
] as const;
export type OrgRoleName = (typeof ORG_ROLES)[number];

/** Held by every non-system user and every organization member without being stored. */
export const IMPLICIT_SITE_ROLE: SiteRoleName = 'member';
export const IMPLICIT_ORG_ROLE: OrgRoleName = 'organization-member';

// What a person may do with what is theirs, wherever it lives.
const OWN_THINGS: Permission[] = [
  ...allow('user', 'read', 'update'),
  ...allow('api_key', 'create', 'read', 'update', 'delete'),
  ...allow('external_auth_link', 'create', 'read', 'update', 'delete'),
  ...allow('oauth2_app_code_token', 'read', 'delete'),
];

const SITE_DEFINITIONS: Record<SiteRoleName, Omit<Role, 'id' | 'builtIn'>> = {
  owner: { displayName: 'Owner', site: allow('*', '*'), org: [], user: [] },
  member: {
    displayName: 'Member',
    site: [...allow('external_auth_provider', 'read'), ...allow('assign_role', 'read')],
    org: [],
    user: OWN_THINGS,
  },
  auditor: {
    displayName: 'Auditor',
    site: [
      ...allow('user', 'read'),
      ...allow('organization', 'read'),
      ...allow('organization_member', 'read'),
      ...allow('role', 'read'),
      ...allow('assign_role', 'read'),
      ...allow('assign_org_role', 'read'),
      ...allow('audit_log', 'read'),
    ],
    org: [],
    user: [],
  },
  'user-admin': {
    displayName: 'User admin',
    site: [
      ...allow('user', 'create', 'read', 'update', 'delete'),
      ...allow('organization', 'read'),
      ...allow('organization_member', 'create', 'read', 'update', 'delete'),
      ...allow('role', 'read'),
      ...allow('assign_role', 'assign', 'unassign', 'read'),
      ...allow('assign_org_role', 'assign', 'unassign', 'read'),
    ],
    org: [],
    user: [],
  },
};

const ORG_DEFINITIONS: Record<OrgRoleName, Omit<Role, 'id' | 'builtIn'>> = {
  // Everything inside its organization, nothing outside it: '*' at the org level only
  // ever matches objects that carry this organization's id.
  'organization-admin': { displayName: 'Organization admin', site: [], org: allow('*', '*'), user: [] },
  // Sees the organization and its own membership; other members' data stays private.
  'organization-member': {
    displayName: 'Organization member',
    site: [],
    org: allow('organization', 'read'),
    user: [
      ...allow('organization_member', 'read'),
      ...allow('workspace', 'create', 'read', 'update', 'delete', 'use'),
      ...allow('chat', 'create', 'read', 'update', 'delete'),
    ],
  },
  'organization-user-admin': {
    displayName: 'Organization user admin',
    site: [],
    org: [
      ...allow('organization', 'read'),
      ...allow('organization_member', 'create', 'read', 'update', 'delete'),
      ...allow('role', 'read'),
      ...allow('assign_org_role', 'assign', 'unassign', 'read'),
    ],
    user: [],
  },
  'organization-auditor': {
    displayName: 'Organization auditor',
    site: [],
    org: [
      ...allow('organization', 'read'),
      ...allow('organization_member', 'read'),
      ...allow('role', 'read'),
      ...allow('assign_org_role', 'read'),
      ...allow('audit_log', 'read'),
    ],
    user: [],
  },
};

// Built once: site roles are constants; organization roles are cached per organization.
const siteRoles = new Map<string, Role>(
  SITE_ROLES.map((name) => [name, { id: siteRole(name), builtIn: true, ...SITE_DEFINITIONS[name] }]),
);
const orgRoleCache = new Map<string, Role>();

export function isSiteRoleName(name: string): name is SiteRoleName {
  return (SITE_ROLES as readonly string[]).includes(name);
}

export function isOrgRoleName(name: string): name is OrgRoleName {
  return (ORG_ROLES as readonly string[]).includes(name);
}

/** The built-in role with this identifier, or undefined (unknown, or a custom role). */
export function builtInRole(id: RoleIdentifier): Role | undefined {
  if (id.organizationId === undefined) return siteRoles.get(id.name);
  if (!isOrgRoleName(id.name)) return undefined;
  const key = `${id.name}:${id.organizationId}`;
  let role = orgRoleCache.get(key);
  if (!role) {
    role = { id: orgRole(id.name, id.organizationId), builtIn: true, ...ORG_DEFINITIONS[id.name] };
    if (orgRoleCache.size > 10_000) orgRoleCache.clear();
    orgRoleCache.set(key, role);
  }
  return role;
}

export function builtInSiteRoles(): Role[] {
  return [...siteRoles.values()];
}

export function builtInOrgRoles(organizationId: string): Role[] {
  return ORG_ROLES.map((name) => builtInRole(orgRole(name, organizationId)) as Role);
}
