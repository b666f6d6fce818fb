import {
  builtInRole,
  ForbiddenError,
  IMPLICIT_ORG_ROLE,
  IMPLICIT_SITE_ROLE,
  isOrgRoleName,
  isSiteRoleName,
  isValidRoleName,
  orgRole,
} from '../authz/index.ts';
import type { Store } from '../db/index.ts';
import { IdentityError } from './errors.ts';

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
      (await store.getCustomRole({ organizationId, name }).catch(hiddenAsMissing)) !== undefined;
    if (!known) throw new IdentityError('invalid', `Unknown organization role "${name}".`);
    if (name !== IMPLICIT_ORG_ROLE) out.add(name);
  }
  return [...out];
}

// A role the caller may not read is as unknown to them as a missing one; any other
// failure (the database) is not an answer about the role and must not become a 400.
function hiddenAsMissing(err: unknown): undefined {
  if (err instanceof ForbiddenError) return undefined;
  throw err;
}
