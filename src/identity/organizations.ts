import {
  actionSchema,
  hasAction,
  isOrgRoleName,
  isResourceType,
  isSiteRoleName,
  isValidRoleName,
} from '../authz/index.ts';
import {
  type CustomRole,
  type Organization,
  type OrganizationMember,
  SQLSTATE,
  type Store,
  type StoredPermission,
  sqlState,
} from '../db/index.ts';
import { IdentityError } from './errors.ts';
import { unlessHidden } from './hidden.ts';
import { isUuid, ORGANIZATION_NAME_PATTERN } from './refs.ts';
import { validateOrgRoles } from './roles.ts';

/** The organization a route names (id or name); hidden ones look missing. */
export async function findOrganization(store: Store, ref: string): Promise<Organization> {
  const org = await unlessHidden(
    isUuid(ref)
      ? store.getOrganizationById({ id: ref })
      : ORGANIZATION_NAME_PATTERN.test(ref)
        ? store.getOrganizationByName({ name: ref })
        : undefined,
  );
  if (org) return org;
  throw new IdentityError('not_found', `No organization "${ref}".`);
}

export async function createOrganization(
  store: Store,
  input: { name: string; displayName?: string | undefined; description?: string | undefined },
): Promise<Organization> {
  try {
    return await store.insertOrganization({
      name: input.name,
      ...(input.displayName === undefined ? {} : { displayName: input.displayName }),
      ...(input.description === undefined ? {} : { description: input.description }),
    });
  } catch (err) {
    if (sqlState(err) === SQLSTATE.uniqueViolation)
      throw new IdentityError('conflict', `Organization "${input.name}" exists.`);
    throw err;
  }
}

export async function addMember(
  store: Store,
  org: Organization,
  userId: string,
  roles: readonly string[],
): Promise<OrganizationMember> {
  const valid = await validateOrgRoles(store, org.id, roles);
  try {
    return await store.insertOrganizationMember({ organizationId: org.id, userId, roles: valid });
  } catch (err) {
    const state = sqlState(err);
    if (state === SQLSTATE.uniqueViolation)
      throw new IdentityError('conflict', 'That user is already a member.');
    if (state === SQLSTATE.foreignKeyViolation) throw new IdentityError('not_found', 'No such user.');
    throw err;
  }
}

export async function findMember(
  store: Store,
  org: Organization,
  userId: string,
): Promise<OrganizationMember> {
  const member = await unlessHidden(store.getOrganizationMember({ organizationId: org.id, userId }));
  if (member) return member;
  throw new IdentityError('not_found', 'No such member of this organization.');
}

export async function setMemberRoles(
  store: Store,
  org: Organization,
  userId: string,
  roles: readonly string[],
): Promise<OrganizationMember> {
  const valid = await validateOrgRoles(store, org.id, roles);
  return store.updateOrganizationMemberRoles({ organizationId: org.id, userId, roles: valid });
}

export interface CustomRoleInput {
  readonly name: string;
  readonly displayName?: string | undefined;
  readonly orgPermissions: readonly StoredPermission[];
  readonly userPermissions: readonly StoredPermission[];
}

/** Validates names, resource types and actions, naming the first bad one. */
export async function createCustomRole(
  store: Store,
  org: Organization,
  input: CustomRoleInput,
): Promise<CustomRole> {
  if (!isValidRoleName(input.name)) {
    throw new IdentityError(
      'invalid',
      `"${input.name}" is not a valid role name (lower-case letters, digits, dashes).`,
    );
  }
  if (isSiteRoleName(input.name) || isOrgRoleName(input.name)) {
    throw new IdentityError('conflict', `"${input.name}" is a built-in role.`);
  }
  for (const p of [...input.orgPermissions, ...input.userPermissions]) checkPermission(p);
  try {
    return await store.insertCustomRole({
      organizationId: org.id,
      name: input.name,
      displayName: input.displayName ?? input.name,
      orgPermissions: input.orgPermissions,
      userPermissions: input.userPermissions,
    });
  } catch (err) {
    if (sqlState(err) === SQLSTATE.uniqueViolation)
      throw new IdentityError('conflict', `Role "${input.name}" exists.`);
    throw err;
  }
}

function checkPermission(p: StoredPermission): void {
  if (p.resource_type !== '*' && !isResourceType(p.resource_type)) {
    throw new IdentityError('invalid', `Unknown resource type "${p.resource_type}".`);
  }
  const actionKnown = p.action === '*' || actionSchema.safeParse(p.action).success;
  const fits =
    p.resource_type === '*' ||
    p.action === '*' ||
    (isResourceType(p.resource_type) && hasAction(p.resource_type, p.action));
  if (!actionKnown || !fits)
    throw new IdentityError('invalid', `"${p.action}" is not an action on ${p.resource_type}.`);
}
