import { type Kysely, sql } from 'kysely';
import type { Database, LoginType, User, UserStatus } from '../schema.ts';
import { RowNotFoundError } from './errors.ts';
import { applyFilter, type RowFilter } from './filter.ts';

export interface ListUsersArgs {
  readonly includeSystem: boolean;
  readonly includeDeleted?: boolean;
  /** Matches username, email or name, case-insensitively. */
  readonly search?: string | undefined;
  readonly status?: UserStatus | undefined;
  readonly limit: number;
  /** Keyset pagination: users created after this id's (created_at, id). */
  readonly afterId?: string | undefined;
}

export interface InsertUserArgs {
  readonly email: string;
  readonly username: string;
  readonly name?: string;
  readonly loginType?: LoginType;
  readonly hashedPassword?: string | null;
  readonly siteRoles?: readonly string[];
  readonly isSystem?: boolean;
}

export interface UsersStore {
  getUserById(arg: { id: string }): Promise<User | undefined>;
  getUserByUsername(arg: { username: string }): Promise<User | undefined>;
  getUserByEmail(arg: { email: string }): Promise<User | undefined>;
  listUsers(arg: ListUsersArgs, filter?: RowFilter): Promise<User[]>;
  insertUser(arg: InsertUserArgs): Promise<User>;
  updateUserStatus(arg: { id: string; status: UserStatus }): Promise<User>;
  updateUserSiteRoles(arg: { id: string; roles: readonly string[] }): Promise<User>;
  softDeleteUser(arg: { id: string }): Promise<void>;
  /** Active, undeleted owners, locked FOR UPDATE: run in a transaction that then changes one. */
  lockActiveOwners(): Promise<string[]>;
}

const live = (db: Kysely<Database>) => db.selectFrom('users').selectAll().where('deleted', '=', false);

export function usersStore(db: Kysely<Database>): UsersStore {
  return {
    getUserById: ({ id }) => live(db).where('id', '=', id).executeTakeFirst(),
    getUserByUsername: ({ username }) =>
      live(db).where(sql`lower(username)`, '=', username.toLowerCase()).executeTakeFirst(),
    getUserByEmail: ({ email }) =>
      live(db).where(sql`lower(email)`, '=', email.toLowerCase()).executeTakeFirst(),

    listUsers: async (arg, filter) => {
      let q = db.selectFrom('users').selectAll();
      if (!arg.includeDeleted) q = q.where('deleted', '=', false);
      if (!arg.includeSystem) q = q.where('is_system', '=', false);
      if (arg.status) q = q.where('status', '=', arg.status);
      if (arg.search) {
        const like = `%${arg.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        q = q.where((eb) =>
          eb.or([eb('username', 'ilike', like), eb('email', 'ilike', like), eb('name', 'ilike', like)]),
        );
      }
      if (arg.afterId) {
        const after = arg.afterId;
        q = q.where((eb) =>
          eb(
            eb.refTuple('created_at', 'id'),
            '>',
            eb.tuple(
              eb.selectFrom('users').select('created_at').where('id', '=', after),
              eb.val(after),
            ) as never,
          ),
        );
      }
      if (filter) q = q.where((eb) => applyFilter(eb, filter, { id: 'users.id', owner: 'users.id' }));
      return q.orderBy('created_at').orderBy('id').limit(arg.limit).execute();
    },

    insertUser: (arg) =>
      db
        .insertInto('users')
        .values({
          email: arg.email,
          username: arg.username,
          name: arg.name ?? '',
          login_type: arg.loginType ?? 'password',
          hashed_password: arg.hashedPassword ?? null,
          rbac_roles: [...(arg.siteRoles ?? [])],
          is_system: arg.isSystem ?? false,
        })
        .returningAll()
        .executeTakeFirstOrThrow(() => new RowNotFoundError('users')),

    updateUserStatus: ({ id, status }) =>
      db
        .updateTable('users')
        .set({ status, updated_at: sql`now()` })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow(() => new RowNotFoundError('users')),

    updateUserSiteRoles: ({ id, roles }) =>
      db
        .updateTable('users')
        .set({ rbac_roles: [...roles], updated_at: sql`now()` })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow(() => new RowNotFoundError('users')),

    softDeleteUser: async ({ id }) => {
      await db
        .updateTable('users')
        .set({ deleted: true, updated_at: sql`now()` })
        .where('id', '=', id)
        .execute();
    },

    lockActiveOwners: async () => {
      const rows = await db
        .selectFrom('users')
        .select('id')
        .where(sql<boolean>`'owner' = ANY(rbac_roles)`)
        .where('deleted', '=', false)
        .where('status', '=', 'active')
        .forUpdate()
        .execute();
      return rows.map((r) => r.id);
    },
  };
}
