import { type Kysely, sql } from 'kysely';
import type { CustomRole, Database, StoredPermission } from '../schema.ts';
import { RowNotFoundError } from './errors.ts';
import { applyFilter, type RowFilter } from './filter.ts';

export interface InsertCustomRoleArgs {
  readonly organizationId: string;
  readonly name: string;
  readonly displayName: string;
  readonly orgPermissions: readonly StoredPermission[];
  readonly userPermissions: readonly StoredPermission[];
}

export interface CustomRolesStore {
  getCustomRole(arg: { organizationId: string; name: string }): Promise<CustomRole | undefined>;
  listCustomRoles(arg: { organizationIds: readonly string[] }, filter?: RowFilter): Promise<CustomRole[]>;
  insertCustomRole(arg: InsertCustomRoleArgs): Promise<CustomRole>;
  softDeleteCustomRole(arg: { organizationId: string; name: string }): Promise<void>;
}

const live = (db: Kysely<Database>) => db.selectFrom('custom_roles').selectAll().where('deleted', '=', false);

export function customRolesStore(db: Kysely<Database>): CustomRolesStore {
  return {
    getCustomRole: ({ organizationId, name }) =>
      live(db).where('organization_id', '=', organizationId).where('name', '=', name).executeTakeFirst(),
    listCustomRoles: ({ organizationIds }, filter) => {
      if (organizationIds.length === 0) return Promise.resolve([]);
      let q = live(db).where('organization_id', 'in', [...organizationIds]);
      if (filter)
        q = q.where((eb) =>
          applyFilter(eb, filter, { id: 'custom_roles.id', org: 'custom_roles.organization_id' }),
        );
      return q.orderBy('name').execute();
    },
    insertCustomRole: (arg) =>
      db
        .insertInto('custom_roles')
        .values({
          organization_id: arg.organizationId,
          name: arg.name,
          display_name: arg.displayName,
          org_permissions: JSON.stringify(arg.orgPermissions),
          user_permissions: JSON.stringify(arg.userPermissions),
        })
        .returningAll()
        .executeTakeFirstOrThrow(() => new RowNotFoundError('custom_roles')),
    softDeleteCustomRole: async ({ organizationId, name }) => {
      await db
        .updateTable('custom_roles')
        .set({ deleted: true, updated_at: sql`now()` })
        .where('organization_id', '=', organizationId)
        .where('name', '=', name)
        .where('deleted', '=', false)
        .execute();
    },
  };
}
