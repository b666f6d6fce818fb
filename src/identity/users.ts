import { ForbiddenError, type Subject } from '../authz/index.ts';
import { type LoginType, SQLSTATE, type Store, sqlState, type User, type UserStatus } from '../db/index.ts';
import { IdentityError } from './errors.ts';
import { unlessHidden } from './hidden.ts';
import { isUuid, USERNAME_PATTERN } from './refs.ts';
import { validateSiteRoles } from './roles.ts';

/**
 * The user a route names: `me`, an id or a username. A user the caller may not see is
 * reported exactly like one that does not exist.
 */
export async function findUser(store: Store, ref: string, caller: Subject): Promise<User> {
  const query = ref === 'me' ? { id: caller.id } : isUuid(ref) ? { id: ref } : undefined;
  const user = await unlessHidden(
    query
      ? store.getUserById(query)
      : USERNAME_PATTERN.test(ref)
        ? store.getUserByUsername({ username: ref })
        : undefined,
  );
  if (user) return user;
  throw new IdentityError('not_found', `No user "${ref}".`);
}

export interface CreateUserInput {
  readonly email: string;
  readonly username: string;
  readonly name?: string | undefined;
  readonly siteRoles?: readonly string[] | undefined;
  readonly hashedPassword?: string | null;
  /** How they sign in; password unless said (OIDC sign-up creates `oidc` users). */
  readonly loginType?: LoginType | undefined;
}

/** Creates a user and makes them a member of the default organization, atomically. */
export async function createUser(store: Store, input: CreateUserInput): Promise<User> {
  const siteRoles = validateSiteRoles(input.siteRoles ?? []);
  try {
    return await store.inTx(
      async (tx) => {
        const user = await tx.insertUser({
          email: input.email,
          username: input.username,
          name: input.name ?? '',
          siteRoles,
          hashedPassword: input.hashedPassword ?? null,
          ...(input.loginType ? { loginType: input.loginType } : {}),
        });
        const org = await tx.getDefaultOrganization();
        await tx.insertOrganizationMember({ organizationId: org.id, userId: user.id, roles: [] });
        return user;
      },
      { name: 'create_user' },
    );
  } catch (err) {
    if (sqlState(err) === SQLSTATE.uniqueViolation) {
      throw new IdentityError('conflict', 'A user with that username or email already exists.');
    }
    throw err;
  }
}

/**
 * Runs `change` on a user in a transaction that first locks every active owner, then
 * decides from those locked rows whether the change would remove the last one. Deciding
 * from the row loaded before the transaction would miss a promotion committed in between;
 * locking first also makes two admins demoting each other at once queue up, so they
 * cannot both succeed and leave no owner at all.
 */
async function withOwnersGuard<T>(
  store: Store,
  user: User,
  losesOwnership: boolean,
  change: (tx: Store) => Promise<T>,
  name: string,
): Promise<T> {
  return store.inTx(
    async (tx) => {
      if (losesOwnership) {
        let owners: string[] | undefined;
        try {
          owners = await tx.lockActiveOwners();
        } catch (err) {
          // A caller who may not read every user cannot change an owner either: let the
          // change itself refuse them with the precise 403.
          if (!(err instanceof ForbiddenError)) throw err;
        }
        if (owners?.includes(user.id) && owners.length === 1) {
          throw new IdentityError('conflict', 'This is the last owner; make someone else an owner first.');
        }
      }
      return change(tx);
    },
    { name },
  );
}

export async function setUserSiteRoles(store: Store, user: User, roles: readonly string[]): Promise<User> {
  const next = validateSiteRoles(roles);
  // Whether the user is an owner *now* is read from the locked rows; what matters here
  // is only whether the change would leave them without the role.
  return withOwnersGuard(
    store,
    user,
    !next.includes('owner'),
    (tx) => tx.updateUserSiteRoles({ id: user.id, roles: next }),
    'set_site_roles',
  );
}

export async function setUserStatus(store: Store, user: User, status: UserStatus): Promise<User> {
  return withOwnersGuard(
    store,
    user,
    status !== 'active',
    (tx) => tx.updateUserStatus({ id: user.id, status }),
    'set_user_status',
  );
}

export async function deleteUser(store: Store, user: User): Promise<void> {
  await withOwnersGuard(store, user, true, (tx) => tx.softDeleteUser({ id: user.id }), 'delete_user');
}
