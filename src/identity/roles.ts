import {
  builtInRole,
  IMPLICIT_ORG_ROLE,
  IMPLICIT_SITE_ROLE,
  isOrgRoleName,
  isSiteRoleName,
  isValidRoleName,
  orgRole,
} from '../authz/index.ts';
import type { Store } from '../db/index.ts';
import { IdentityError } from './errors.ts';
import { unlessHidden } from './hidden.ts';

/**
 * Site role names as stored: known, deduplicated, without the implicit `member`.
 * A name that belongs to an organization role is refused with the fix in the message.
 */
export function validateSiteRoles(names: readonly string[]): string[] {
  const out = new Set<string>();
  for (const name of names) {
    if (isOrgRoleName(name)) {
      throw new IdentityError(
        'invalid',
        `"${name}" is an organization role, not a site role.`,
        'Assign it with PUT /api/v1/organizations/{org}/members/{user}/roles.',
      );
    }
    if (!isSiteRoleName(name)) throw new IdentityError('invalid', `Unknown site role "${name}".`);
    if (name !== IMPLICIT_SITE_ROLE) out.add(name);
  }
  return [...out];
}

/** Organization role names as stored: built-in or a live custom role of that organization. */
export async function validateOrgRoles(
  store: Store,
  organizationId: string,
  names: readonly string[],
): Promise<string[]> {
  const out = new Set<string>();
  for (const name of names) {
    if (isSiteRoleName(name)) {
      throw new IdentityError(
        'invalid',
        `"${name}" is a site role, not an organization role.`,
        'Assign it with PUT /api/v1/users/{user}/roles.',
      );
    }
    if (!isValidRoleName(name)) throw new IdentityError('invalid', `"${name}" is not a valid role name.`);
    const known =
      builtInRole(orgRole(name, organizationId)) !== undefined ||
      (await unlessHidden(store.getCustomRole({ organizationId, name }))) !== undefined;
    if (!known) throw new IdentityError('invalid', `Unknown organization role "${name}".`);
    if (name !== IMPLICIT_ORG_ROLE) out.add(name);
  }
  return [...out];
}
