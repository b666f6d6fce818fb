import type { Kysely } from 'kysely';
import type { Database, Organization } from '../schema.ts';
import { RowNotFoundError } from './errors.ts';
import { applyFilter, type RowFilter } from './filter.ts';

export interface OrganizationsStore {
  getOrganizationById(arg: { id: string }): Promise<Organization | undefined>;
  getOrganizationByName(arg: { name: string }): Promise<Organization | undefined>;
  getDefaultOrganization(): Promise<Organization>;
  listOrganizations(arg: { limit: number }, filter?: RowFilter): Promise<Organization[]>;
  insertOrganization(arg: {
    name: string;
    displayName?: string;
    description?: string;
  }): Promise<Organization>;
}

const live = (db: Kysely<Database>) =>
  db.selectFrom('organizations').selectAll().where('deleted', '=', false);

export function organizationsStore(db: Kysely<Database>): OrganizationsStore {
  return {
    getOrganizationById: ({ id }) => live(db).where('id', '=', id).executeTakeFirst(),
    getOrganizationByName: ({ name }) => live(db).where('name', '=', name).executeTakeFirst(),
    getDefaultOrganization: () => live(db).where('is_default', '=', true).executeTakeFirstOrThrow(),
    listOrganizations: ({ limit }, filter) => {
      let q = live(db);
      if (filter)
        q = q.where((eb) => applyFilter(eb, filter, { id: 'organizations.id', org: 'organizations.id' }));
      return q.orderBy('name').limit(limit).execute();
    },
    insertOrganization: (arg) =>
      db
        .insertInto('organizations')
        .values({
          name: arg.name,
          display_name: arg.displayName ?? arg.name,
          description: arg.description ?? '',
        })
        .returningAll()
        .executeTakeFirstOrThrow(() => new RowNotFoundError('organizations')),
  };
}
