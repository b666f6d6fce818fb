import type { ResourceType } from './resources.ts';

/** What a check is about: a resource type and, when known, its id, organization and owner. */
export interface AuthzObject {
  readonly type: ResourceType;
  readonly id?: string | undefined;
  readonly orgId?: string | undefined;
  readonly ownerId?: string | undefined;
}

// Constructors for the objects the store returns, so every caller describes them alike.
export const objects = {
  user: (user: { id: string }): AuthzObject => ({ type: 'user', id: user.id, ownerId: user.id }),
  organization: (org: { id: string }): AuthzObject => ({ type: 'organization', id: org.id, orgId: org.id }),
  member: (m: { organization_id: string; user_id: string }): AuthzObject => ({
    type: 'organization_member',
    id: m.user_id,
    orgId: m.organization_id,
    ownerId: m.user_id,
  }),
  customRole: (r: { id: string; organization_id: string }): AuthzObject => ({
    type: 'role',
    id: r.id,
    orgId: r.organization_id,
  }),
  /** Granting or revoking site roles. */
  assignRole: (): AuthzObject => ({ type: 'assign_role' }),
  /** Granting or revoking roles of one organization. */
  assignOrgRole: (orgId: string): AuthzObject => ({ type: 'assign_org_role', orgId }),
  /** The type as a whole (creating a new one, site-wide settings). */
  any: (type: ResourceType, orgId?: string): AuthzObject =>
    orgId === undefined ? { type } : { type, orgId },
};
