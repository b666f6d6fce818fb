export { LockTimeoutError, withAdvisoryLock } from './advisory-lock.ts';
export { type EmbeddedPostgres, runningEmbeddedUrl, startEmbeddedPostgres } from './embedded/index.ts';
export { SQLSTATE, sqlState } from './errors.ts';
export {
  KNOWN_MIGRATIONS,
  MigrationError,
  type MigrationState,
  migrateToLatest,
  migrationStatus,
} from './migrator.ts';
export { type DatabaseHandle, type DatabaseOptions, openDatabase } from './pool.ts';
export { createPubSub, type PubSub, type PubSubOptions } from './pubsub.ts';
export type * from './schema.ts';
export { API_KEY_LOGIN_TYPES, LOGIN_TYPES, USER_STATUSES } from './schema.ts';
export {
  applyFilter,
  createStore,
  type DataStore,
  type InsertApiKeyArgs,
  type InsertCustomRoleArgs,
  type InsertExternalAuthLinkStateArgs,
  type InsertUserArgs,
  type LinkKey,
  type LinkTokens,
  type ListUsersArgs,
  type MemberKey,
  type RoleChange,
  type RowFilter,
  RowNotFoundError,
  type Store,
  type StoreHooks,
  type UpsertOidcLinkArgs,
} from './store/index.ts';
export { createInTx, type InTx, type Isolation, type TxOptions } from './tx.ts';
export { DatabaseUnavailableError, describeDatabaseUrl, waitForDatabase } from './wait.ts';
