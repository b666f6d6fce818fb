export {
  type AllowListEntry,
  allowListPermits,
  formatAllowList,
  MAX_ALLOW_LIST_ENTRIES,
  parseAllowList,
} from './allow-list.ts';
export {
  authorize,
  type CheckRecorder,
  ForbiddenError,
  mustAuthorize,
  type Prepared,
  prepare,
} from './authorize.ts';
export { AuthorizedStore, type AuthzStore, authorizingStore } from './authorized-store.ts';
export { customRoleFromRow, permissionFromStored, permissionToStored } from './custom-role.ts';
export { type CustomRoleLookup, expandRoles, type RoleAssignments } from './expand.ts';
export { holdsRole } from './grant.ts';
export { type AuthzObject, objects } from './object.ts';
export { allow, covers, deny, type Permission, type Wildcard } from './permission.ts';
export { type CredentialLimits, resolveSubject } from './resolve.ts';
export {
  ACTIONS,
  type Action,
  actionSchema,
  hasAction,
  isResourceType,
  RESOURCE_TYPES,
  RESOURCES,
  type ResourceType,
  resourceTypeSchema,
} from './resources.ts';
export {
  formatRoleId,
  isValidRoleName,
  orgRole,
  parseRoleId,
  type RoleIdentifier,
  sameRole,
  siteRole,
} from './role-id.ts';
export {
  builtInOrgRoles,
  builtInRole,
  builtInSiteRoles,
  IMPLICIT_ORG_ROLE,
  IMPLICIT_SITE_ROLE,
  isOrgRoleName,
  isSiteRoleName,
  ORG_ROLES,
  type OrgRoleName,
  type Role,
  SITE_ROLES,
  type SiteRoleName,
} from './roles.ts';
export { SharedCache } from './shared-cache.ts';
export { Subject, type SubjectInit } from './subject.ts';
export { AUTHZ_CHANNEL, encodeChange, SubjectCache } from './subject-cache.ts';
export { type SystemActorName, systemActors } from './system-actors.ts';
