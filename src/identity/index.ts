export { IDENTITY_ERROR_KINDS, IdentityError, type IdentityErrorKind } from './errors.ts';
export {
  addMember,
  type CustomRoleInput,
  createCustomRole,
  createOrganization,
  findMember,
  findOrganization,
  setMemberRoles,
} from './organizations.ts';
export { isUuid, ORGANIZATION_NAME_PATTERN, USERNAME_PATTERN, USERNAME_RULE, UUID_PATTERN } from './refs.ts';
export { validateOrgRoles, validateSiteRoles } from './roles.ts';
export {
  type CreateUserInput,
  createUser,
  deleteUser,
  findUser,
  setUserSiteRoles,
  setUserStatus,
} from './users.ts';
