import type { ResourceType } from '../authz/index.ts';
import type { Database, DataStore, SecretTable } from '../db/index.ts';

// Every secret column Latchkey stores, and what is done about it: this file is the list.
// A test (test/dbcrypt-columns.test.ts) reads the schema and fails when a column named
// like a secret (…_token, …_secret, …_password, …_verifier) is neither encrypted here nor
// listed below with the reason it is not.

type StoreMethod = keyof DataStore;

/** A table whose secret columns dbcrypt encrypts, and the store methods that carry them. */
export interface EncryptedTable extends SecretTable {
  readonly table: keyof Database & string;
  readonly resource: ResourceType;
  /** The store methods, by what they do with the secret columns (see store.ts). */
  readonly methods: {
    /** Reads one row by its key arguments; compare-and-swap methods re-read with it. */
    readonly read: StoreMethod;
    /** Return a row, rows or undefined: their secret columns are decrypted. */
    readonly rows: readonly StoreMethod[];
    /** Take `tokens: LinkTokens`: encrypted before the write. */
    readonly writes: readonly StoreMethod[];
    /** Take `oldRefreshToken` (and maybe `tokens`): an optimistic update (EA-3) on it. */
    readonly swaps: readonly StoreMethod[];
    /** Name the table but touch no secret column. */
    readonly untouched: readonly StoreMethod[];
  };
  /** Which column each LinkTokens field is stored in. */
  readonly tokenFields: Readonly<Record<'accessToken' | 'refreshToken', string>>;
  /** The column `oldRefreshToken` is compared with. */
  readonly swapColumn: string;
}

/** A secret-looking column deliberately not encrypted, and why. */
export interface PlainColumn {
  readonly table: keyof Database & string;
  readonly column: string;
  readonly decision: 'hashed' | 'plaintext';
  readonly why: string;
}

/**
 * An OAuth link table (access and refresh token, expiry, failure reason): the shape both
 * external-auth links and OIDC login links have. Clearing a row (`dbcrypt delete`) leaves a
 * link that asks its user to link again, as a permanent refresh failure does (EA-6).
 */
function oauthLinks(t: {
  table: keyof Database & string;
  resource: ResourceType;
  key: readonly string[];
  read: StoreMethod;
  rows: readonly StoreMethod[];
  writes: readonly StoreMethod[];
  swaps: readonly StoreMethod[];
  untouched?: readonly StoreMethod[];
}): EncryptedTable {
  return {
    table: t.table,
    resource: t.resource,
    key: t.key,
    columns: ['oauth_access_token', 'oauth_refresh_token'],
    cleared: { oauth_expiry: 'epoch', oauth_refresh_failure_reason: 'encryption_key_deleted' },
    tokenFields: { accessToken: 'oauth_access_token', refreshToken: 'oauth_refresh_token' },
    swapColumn: 'oauth_refresh_token',
    methods: { read: t.read, rows: t.rows, writes: t.writes, swaps: t.swaps, untouched: t.untouched ?? [] },
  };
}

export const ENCRYPTED_TABLES: readonly EncryptedTable[] = [
  oauthLinks({
    table: 'external_auth_links',
    resource: 'external_auth_link',
    key: ['user_id', 'provider_id'],
    read: 'getExternalAuthLink',
    rows: [
      'getExternalAuthLink',
      'listExternalAuthLinksOfUser',
      'upsertExternalAuthLink',
      'deleteExternalAuthLink',
    ],
    writes: ['upsertExternalAuthLink'],
    swaps: ['updateExternalAuthLinkRefreshToken', 'updateExternalAuthLinkRefreshFailure'],
    untouched: ['insertExternalAuthLinkState', 'getExternalAuthLinkState', 'consumeExternalAuthLinkState'],
  }),
  oauthLinks({
    table: 'oidc_links',
    resource: 'oidc_link',
    key: ['user_id'],
    read: 'getOidcLinkByUser',
    rows: ['getOidcLinkByUser', 'getOidcLinkBySubject', 'upsertOidcLink'],
    writes: ['upsertOidcLink'],
    swaps: ['updateOidcLinkRefreshToken', 'updateOidcLinkRefreshFailure'],
  }),
];

export const PLAIN_COLUMNS: readonly PlainColumn[] = [
  {
    table: 'users',
    column: 'hashed_password',
    decision: 'hashed',
    why: 'argon2id (AK-1); a password is never stored.',
  },
  {
    table: 'api_keys',
    column: 'hashed_secret',
    decision: 'hashed',
    why: 'SHA-256 of the key secret (AK-2); the secret is shown once and never stored.',
  },
  {
    table: 'external_auth_link_states',
    column: 'state_hash',
    decision: 'hashed',
    why: 'SHA-256 of the link flow state (or device code); single use.',
  },
  {
    table: 'external_auth_link_states',
    column: 'code_verifier',
    decision: 'plaintext',
    why: 'PKCE verifier of a link flow in progress: single use, expires within minutes, useless without the code the provider sends to the user’s browser, and needed in clear for the token request.',
  },
  {
    table: 'oauth2_app_secrets',
    column: 'hashed_secret',
    decision: 'hashed',
    why: 'SHA-256 of an OAuth client secret (OA-2); the secret is shown once and never stored.',
  },
];

// Not listed: oauth2_signing_keys.private_jwk, the private JWT signing keys. They are
// sealed with the primary key by src/oauth2/signing-keys.ts itself and never rewritten by
// the dbcrypt commands: signing keys rotate on their own, so a key sealed with a retired
// dbcrypt key is replaced by the next generation instead of being re-encrypted.

/** Secret-looking column names the schema test insists on a decision for. */
export const SECRET_NAME = /(^|_)(token|secret|password|verifier)$/;
