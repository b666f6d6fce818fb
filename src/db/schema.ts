import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

// Kysely's view of the tables, one interface per table. Migrations are the source of
// truth for the schema; keep this file in step with them.

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export const USER_STATUSES = ['active', 'suspended', 'dormant'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export const LOGIN_TYPES = ['password', 'oidc', 'none'] as const;
export type LoginType = (typeof LOGIN_TYPES)[number];

export interface UsersTable {
  id: Generated<string>;
  email: string;
  username: string;
  name: Generated<string>;
  hashed_password: string | null;
  login_type: Generated<LoginType>;
  status: Generated<UserStatus>;
  /** Site-wide role names (organization roles live on organization_members). */
  rbac_roles: Generated<string[]>;
  is_system: Generated<boolean>;
  deleted: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
  last_seen_at: Timestamp | null;
}

export interface OrganizationsTable {
  id: Generated<string>;
  name: string;
  display_name: Generated<string>;
  description: Generated<string>;
  icon: Generated<string>;
  is_default: Generated<boolean>;
  deleted: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface OrganizationMembersTable {
  organization_id: string;
  user_id: string;
  roles: Generated<string[]>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** A permission as stored in JSON: `{ resource_type, action, negate }`. */
export interface StoredPermission {
  resource_type: string;
  action: string;
  negate: boolean;
}

export interface CustomRolesTable {
  id: Generated<string>;
  organization_id: string;
  name: string;
  display_name: Generated<string>;
  org_permissions: ColumnType<StoredPermission[], string, string>;
  user_permissions: ColumnType<StoredPermission[], string, string>;
  deleted: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export const API_KEY_LOGIN_TYPES = ['password', 'oidc', 'token', 'oauth2_app'] as const;
export type ApiKeyLoginType = (typeof API_KEY_LOGIN_TYPES)[number];

export interface ApiKeysTable {
  id: string;
  hashed_secret: Buffer;
  user_id: string;
  name: Generated<string>;
  login_type: ApiKeyLoginType;
  scopes: Generated<string[]>;
  allow_list: Generated<string[]>;
  lifetime_seconds: number;
  expires_at: Timestamp;
  last_used: Timestamp;
  /** For OAuth2 access tokens: the audience (RFC 8707 resource) they are bound to; '' otherwise. */
  audience: Generated<string>;
  oauth2_app_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Extra token-response fields a provider is configured to keep (EXTRA_TOKEN_KEYS). */
export type TokenExtra = Record<string, string>;

export interface ExternalAuthLinksTable {
  user_id: string;
  provider_id: string;
  oauth_access_token: string;
  /** '' when there is none, or after a permanent refresh failure (see the migration). */
  oauth_refresh_token: string;
  /** null: the token does not expire (validated, never refreshed). */
  oauth_expiry: Date | null;
  oauth_token_issued_at: Timestamp;
  oauth_extra: ColumnType<TokenExtra, string, string>;
  oauth_refresh_failure_reason: Generated<string>;
  upstream_login: Generated<string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ExternalAuthLinkStatesTable {
  state_hash: Buffer;
  user_id: string;
  provider_id: string;
  code_verifier: string;
  redirect_uri: string;
  return_to: string;
  expires_at: Timestamp;
}

/** The identity claims kept for an OIDC login link (see src/apikeys/oidc-claims.ts). */
export interface OidcClaims {
  email: string;
  email_verified: boolean;
  username: string;
  name: string;
  groups: string[];
}

export interface OidcLinksTable {
  user_id: string;
  issuer: string;
  subject: string;
  oauth_access_token: string;
  oauth_refresh_token: string;
  oauth_expiry: Date | null;
  oauth_token_issued_at: Timestamp;
  oauth_refresh_failure_reason: Generated<string>;
  claims: ColumnType<OidcClaims, string, string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export const DBCRYPT_KEY_STATUSES = ['active', 'revoked'] as const;
export type DbcryptKeyStatus = (typeof DBCRYPT_KEY_STATUSES)[number];

/** A key that has encrypted data, by digest (see migration 0007_dbcrypt). */
export interface DbcryptKeysTable {
  digest: string;
  status: Generated<DbcryptKeyStatus>;
  created_at: Timestamp;
  revoked_at: Date | null;
}

export interface OAuth2AppsTable {
  id: Generated<string>;
  client_id: string;
  origin: 'dynamic' | 'admin' | 'metadata_document';
  name: Generated<string>;
  application_type: Generated<'web' | 'native'>;
  token_endpoint_auth_method: 'none' | 'client_secret_basic' | 'client_secret_post';
  redirect_uris: Generated<string[]>;
  grant_types: Generated<string[]>;
  response_types: Generated<string[]>;
  /** The client's scope ceiling, space separated; '' = none registered. */
  scope: Generated<string>;
  metadata: ColumnType<Record<string, unknown>, string | undefined, string>;
  registration_token_hash: Buffer | null;
  created_by: string | null;
  /** Admin apps may ask for RFC 9068 JWT access tokens whatever the audience. */
  access_token_format: Generated<'opaque' | 'jwt'>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface OAuth2AppSecretsTable {
  id: Generated<string>;
  app_id: string;
  display_prefix: string;
  hashed_secret: Buffer;
  last_used_at: Date | null;
  created_at: Timestamp;
}

export interface OAuth2CodesTable {
  id: Generated<string>;
  code_hash: Buffer;
  app_id: string;
  user_id: string;
  redirect_uri: string;
  code_challenge: string;
  resource: string;
  scope: string;
  redeemed_at: Date | null;
  /** The access token the redemption issued (revoked if the code is replayed). */
  api_key_id: string | null;
  expires_at: Timestamp;
  created_at: Timestamp;
}

export interface OAuth2RefreshTokensTable {
  id: Generated<string>;
  token_hash: Buffer;
  family_id: string;
  app_id: string;
  user_id: string;
  code_id: string | null;
  api_key_id: string | null;
  resource: string;
  scope: string;
  rotated_at: Date | null;
  successor_id: string | null;
  /** Set at rotation; with the presented token it re-derives the successor (grace window). */
  successor_seed: Buffer | null;
  revoked_at: Date | null;
  expires_at: Timestamp;
  created_at: Timestamp;
}

export interface OAuth2ConsentsTable {
  user_id: string;
  app_id: string;
  scope: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface OAuth2SigningKeysTable {
  kid: string;
  generation: number;
  alg: 'ES256' | 'EdDSA';
  public_jwk: ColumnType<Record<string, unknown>, string, never>;
  /** The private JWK as JSON, or dbcrypt ciphertext of it. */
  private_jwk: string;
  activates_at: Date;
  created_at: Timestamp;
}

export interface Database {
  users: UsersTable;
  organizations: OrganizationsTable;
  organization_members: OrganizationMembersTable;
  custom_roles: CustomRolesTable;
  api_keys: ApiKeysTable;
  external_auth_links: ExternalAuthLinksTable;
  external_auth_link_states: ExternalAuthLinkStatesTable;
  oidc_links: OidcLinksTable;
  oauth2_apps: OAuth2AppsTable;
  oauth2_app_secrets: OAuth2AppSecretsTable;
  oauth2_codes: OAuth2CodesTable;
  oauth2_refresh_tokens: OAuth2RefreshTokensTable;
  oauth2_consents: OAuth2ConsentsTable;
  dbcrypt_keys: DbcryptKeysTable;
  oauth2_signing_keys: OAuth2SigningKeysTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type Organization = Selectable<OrganizationsTable>;
export type OrganizationMember = Selectable<OrganizationMembersTable>;
export type CustomRole = Selectable<CustomRolesTable>;
export type ApiKey = Selectable<ApiKeysTable>;
export type ExternalAuthLink = Selectable<ExternalAuthLinksTable>;
export type ExternalAuthLinkState = Selectable<ExternalAuthLinkStatesTable>;
export type OidcLink = Selectable<OidcLinksTable>;
export type DbcryptKey = Selectable<DbcryptKeysTable>;
export type OAuth2App = Selectable<OAuth2AppsTable>;
export type OAuth2AppSecret = Selectable<OAuth2AppSecretsTable>;
export type OAuth2Code = Selectable<OAuth2CodesTable>;
export type OAuth2RefreshToken = Selectable<OAuth2RefreshTokensTable>;
export type OAuth2Consent = Selectable<OAuth2ConsentsTable>;
export type OAuth2SigningKey = Selectable<OAuth2SigningKeysTable>;
