// A role is named by its name alone (site-wide roles) or by name and organization
// (organization roles: `organization-admin:<org uuid>`). The organization is part of the
// identity, never an afterthought, so this is a value type rather than a bare string.

export interface RoleIdentifier {
  readonly name: string;
  /** Set for organization roles, undefined for site roles. */
  readonly organizationId: string | undefined;
}

const NAME = /^[a-z][a-z0-9-]{0,63}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function siteRole(name: string): RoleIdentifier {
  return { name, organizationId: undefined };
}

export function orgRole(name: string, organizationId: string): RoleIdentifier {
  return { name, organizationId };
}

export function formatRoleId(id: RoleIdentifier): string {
  return id.organizationId === undefined ? id.name : `${id.name}:${id.organizationId}`;
}

/** Parses `name` or `name:organization_id`; undefined when malformed. */
export function parseRoleId(text: string): RoleIdentifier | undefined {
  const [name, org, extra] = text.split(':');
  if (name === undefined || extra !== undefined || !NAME.test(name)) return undefined;
  if (org === undefined) return siteRole(name);
  return UUID.test(org) ? orgRole(name, org) : undefined;
}

export function isValidRoleName(name: string): boolean {
  return NAME.test(name);
}

export function sameRole(a: RoleIdentifier, b: RoleIdentifier): boolean {
  return a.name === b.name && a.organizationId === b.organizationId;
}
