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
export { API_KEY_LOGIN_TYPES, DBCRYPT_KEY_STATUSES, LOGIN_TYPES, USER_STATUSES } from './schema.ts';
export {
  applyFilter,
  createStore,
  type DataStore,
  type InsertApiKeyArgs,
  type InsertCustomRoleArgs,
  type InsertExternalAuthLinkStateArgs,
  type InsertOAuth2AppArgs,
  type InsertOAuth2CodeArgs,
  type InsertOAuth2SigningKeyArgs,
  type InsertUserArgs,
  type LinkKey,
  type LinkTokens,
  type ListUsersArgs,
  type MemberKey,
  type OAuth2AccessKeyArgs,
  type OAuth2AppFields,
  type OAuth2CodeState,
  type OAuth2GrantKeyArgs,
  type OAuth2Issued,
  type OAuth2RefreshArgs,
  type OAuth2RefreshTokenState,
  type OAuth2SuccessorKey,
  type OAuth2UserApp,
  type RedeemOAuth2CodeArgs,
  type RedeemOAuth2CodeByHashArgs,
  type RoleChange,
  type RotateOAuth2RefreshTokenArgs,
  type RotateOAuth2RefreshTokenByHashArgs,
  type RowFilter,
  RowNotFoundError,
  type SecretMatch,
  type SecretRow,
  type SecretTable,
  type Store,
  type StoreHooks,
  type UpsertOidcLinkArgs,
} from './store/index.ts';
export { createInTx, type InTx, type Isolation, type TxOptions } from './tx.ts';
export { DatabaseUnavailableError, describeDatabaseUrl, waitForDatabase } from './wait.ts';
