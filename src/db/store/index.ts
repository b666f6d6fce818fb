import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { InTx, TxOptions } from '../tx.ts';
import { type CustomRolesStore, customRolesStore } from './custom-roles.ts';
import { type MembersStore, membersStore } from './members.ts';
import { type OrganizationsStore, organizationsStore } from './organizations.ts';
import { type UsersStore, usersStore } from './users.ts';

export type { InsertCustomRoleArgs } from './custom-roles.ts';
export { RowNotFoundError } from './errors.ts';
export { applyFilter, type FilterColumns, type RowFilter } from './filter.ts';
export type { MemberKey } from './members.ts';
export type { InsertUserArgs, ListUsersArgs } from './users.ts';

/** Every query Latchkey runs, one typed method each, grouped by table family. */
export type DataStore = UsersStore & OrganizationsStore & MembersStore & CustomRolesStore;

export interface Store extends DataStore {
  /** Runs `fn` with a store bound to one transaction (see inTx for the retry rules). */
  inTx<T>(fn: (store: Store) => Promise<T>, options: TxOptions): Promise<T>;
}

/** The raw store: no authorization. Only `store.as(actor)` (authz) is handed to callers. */
export function createStore(db: Kysely<Database>, inTx: InTx): Store {
  const data: DataStore = {
    ...usersStore(db),
    ...organizationsStore(db),
    ...membersStore(db),
    ...customRolesStore(db),
  };
  return {
    ...data,
    inTx: (fn, options) => inTx((tx) => fn(createStore(tx, (inner) => inner(tx))), options),
  };
}
