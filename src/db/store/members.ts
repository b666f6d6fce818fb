import { type Kysely, sql } from 'kysely';
import type { Database, OrganizationMember } from '../schema.ts';
import { RowNotFoundError } from './errors.ts';
import { applyFilter, type RowFilter } from './filter.ts';

export interface MemberKey {
  readonly organizationId: string;
  readonly userId: string;
}

export interface MembersStore {
  getOrganizationMember(arg: MemberKey): Promise<OrganizationMember | undefined>;
  listOrganizationMembers(
    arg: { organizationId: string; limit: number },
    filter?: RowFilter,
  ): Promise<OrganizationMember[]>;
  listMembershipsOfUser(arg: { userId: string }, filter?: RowFilter): Promise<OrganizationMember[]>;
  insertOrganizationMember(arg: MemberKey & { roles: readonly string[] }): Promise<OrganizationMember>;
  updateOrganizationMemberRoles(arg: MemberKey & { roles: readonly string[] }): Promise<OrganizationMember>;
  deleteOrganizationMember(arg: MemberKey): Promise<void>;
}

const COLUMNS = {
  id: 'organization_members.user_id',
  org: 'organization_members.organization_id',
  owner: 'organization_members.user_id',
};

export function membersStore(db: Kysely<Database>): MembersStore {
  return {
    getOrganizationMember: ({ organizationId, userId }) =>
      db
        .selectFrom('organization_members')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('user_id', '=', userId)
        .executeTakeFirst(),
    listOrganizationMembers: ({ organizationId, limit }, filter) => {
      let q = db.selectFrom('organization_members').selectAll().where('organization_id', '=', organizationId);
      if (filter) q = q.where((eb) => applyFilter(eb, filter, COLUMNS));
      return q.orderBy('created_at').orderBy('user_id').limit(limit).execute();
    },
    listMembershipsOfUser: ({ userId }, filter) => {
      let q = db.selectFrom('organization_members').selectAll().where('user_id', '=', userId);
      if (filter) q = q.where((eb) => applyFilter(eb, filter, COLUMNS));
      return q.orderBy('created_at').execute();
    },
    insertOrganizationMember: ({ organizationId, userId, roles }) =>
      db
        .insertInto('organization_members')
        .values({ organization_id: organizationId, user_id: userId, roles: [...roles] })
        .returningAll()
        .executeTakeFirstOrThrow(() => new RowNotFoundError('organization_members')),
    updateOrganizationMemberRoles: ({ organizationId, userId, roles }) =>
      db
        .updateTable('organization_members')
        .set({ roles: [...roles], updated_at: sql`now()` })
        .where('organization_id', '=', organizationId)
        .where('user_id', '=', userId)
        .returningAll()
        .executeTakeFirstOrThrow(() => new RowNotFoundError('organization_members')),
    deleteOrganizationMember: async ({ organizationId, userId }) => {
      await db
        .deleteFrom('organization_members')
        .where('organization_id', '=', organizationId)
        .where('user_id', '=', userId)
        .execute();
    },
  };
}
