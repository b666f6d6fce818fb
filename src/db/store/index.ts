import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { InTx, TxOptions } from '../tx.ts';
import { type ApiKeysStore, apiKeysStore } from './api-keys.ts';
import { type CustomRolesStore, customRolesStore } from './custom-roles.ts';
import { type DbcryptKeysStore, dbcryptKeysStore } from './dbcrypt-keys.ts';
import { type ExternalAuthLinksStore, externalAuthLinksStore, type LinkKey } from './external-auth-links.ts';
import { type MembersStore, membersStore } from './members.ts';
import { type OAuth2AppsStore, oauth2AppsStore } from './oauth2-apps.ts';
import { type OAuth2GrantsStore, oauth2GrantsStore } from './oauth2-grants.ts';

export type { InsertOAuth2SigningKeyArgs } from './oauth2-signing-keys.ts';

import { type OAuth2SigningKeysStore, oauth2SigningKeysStore } from './oauth2-signing-keys.ts';
import { type OidcLinksStore, oidcLinksStore } from './oidc-links.ts';
import { type OrganizationsStore, organizationsStore } from './organizations.ts';
import { type SecretRowsStore, secretRowsStore } from './secret-rows.ts';
import { type UsersStore, usersStore } from './users.ts';

export type { InsertApiKeyArgs } from './api-keys.ts';
export type { InsertCustomRoleArgs } from './custom-roles.ts';
export { RowNotFoundError } from './errors.ts';
export type { InsertExternalAuthLinkStateArgs, LinkKey, LinkTokens } from './external-auth-links.ts';
export { applyFilter, type FilterColumns, type RowFilter } from './filter.ts';
export type { MemberKey } from './members.ts';
export type { InsertOAuth2AppArgs, OAuth2AppFields } from './oauth2-apps.ts';
export type {
  InsertOAuth2CodeArgs,
  OAuth2AccessKeyArgs,
  OAuth2CodeState,
  OAuth2GrantKeyArgs,
  OAuth2Issued,
  OAuth2RefreshArgs,
  OAuth2RefreshTokenState,
  OAuth2SuccessorKey,
  OAuth2UserApp,
  RedeemOAuth2CodeArgs,
  RedeemOAuth2CodeByHashArgs,
  RotateOAuth2RefreshTokenArgs,
  RotateOAuth2RefreshTokenByHashArgs,
} from './oauth2-grants.ts';
export type { UpsertOidcLinkArgs } from './oidc-links.ts';
export type { SecretMatch, SecretRow, SecretTable } from './secret-rows.ts';
export type { InsertUserArgs, ListUsersArgs } from './users.ts';

/** Every query Latchkey runs, one typed method each, grouped by table family. */
export type DataStore = UsersStore &
  OrganizationsStore &
  MembersStore &
  CustomRolesStore &
  ApiKeysStore &
  ExternalAuthLinksStore &
  OidcLinksStore &
  DbcryptKeysStore &
  SecretRowsStore &
  OAuth2AppsStore &
  OAuth2GrantsStore &
  OAuth2SigningKeysStore;

export interface Store extends DataStore {
  /** Runs `fn` with a store bound to one transaction (see inTx for the retry rules). */
  inTx<T>(fn: (store: Store) => Promise<T>, options: TxOptions): Promise<T>;
}

/** Whose roles a write changed: one user, or everyone holding roles in an organization. */
export type RoleChange = { readonly userId: string } | { readonly organizationId: string };

export interface StoreHooks {
  /**
   * Called after a write that changes what someone may do, on the same executor: inside a
   * transaction it takes effect at COMMIT (caches elsewhere are told only of real changes).
   */
  readonly rolesChanged?: (db: Kysely<Database>, change: RoleChange) => Promise<void>;
  /**
   * Called after a write to an external-auth link (linked, refreshed, failed, unlinked),
   * on the same executor, so caches of links elsewhere drop it.
   */
  readonly linkChanged?: (db: Kysely<Database>, key: LinkKey) => Promise<void>;
  /** Called after an API key is deleted, on the same executor (revocation). */
  readonly keyDeleted?: (db: Kysely<Database>, keyId: string) => Promise<void>;
  /** Called after a write to an OAuth client or its secrets, on the same executor (caches). */
  readonly appChanged?: (db: Kysely<Database>) => Promise<void>;
}

// The writes after which cached OAuth clients are stale (see src/oauth2/client-cache.ts).
const APP_WRITES = [
  'updateOAuth2App',
  'updateOAuth2AppRegistrationToken',
  'deleteOAuth2App',
  'upsertOAuth2AppFromDocument',
  'insertOAuth2AppSecret',
  'deleteOAuth2AppSecret',
  'deleteOAuth2AppSecrets',
] as const satisfies ReadonlyArray<keyof DataStore>;

// The writes after which cached subjects are stale, and whose roles they touched.
const ROLE_WRITES: Partial<Record<keyof DataStore, (arg: never) => RoleChange>> = {
  updateUserSiteRoles: (a: { id: string }) => ({ userId: a.id }),
  updateUserStatus: (a: { id: string }) => ({ userId: a.id }),
  softDeleteUser: (a: { id: string }) => ({ userId: a.id }),
  insertOrganizationMember: (a: { userId: string }) => ({ userId: a.userId }),
  updateOrganizationMemberRoles: (a: { userId: string }) => ({ userId: a.userId }),
  deleteOrganizationMember: (a: { userId: string }) => ({ userId: a.userId }),
  insertCustomRole: (a: { organizationId: string }) => ({ organizationId: a.organizationId }),
  softDeleteCustomRole: (a: { organizationId: string }) => ({ organizationId: a.organizationId }),
};

/** The raw store: no authorization. Only `store.as(actor)` (authz) is handed to callers. */
export function createStore(db: Kysely<Database>, inTx: InTx, hooks: StoreHooks = {}): Store {
  const data: DataStore = {
    ...usersStore(db),
    ...organizationsStore(db),
    ...membersStore(db),
    ...customRolesStore(db),
    ...apiKeysStore(db),
    ...externalAuthLinksStore(db),
    ...oidcLinksStore(db),
    ...oauth2AppsStore(db),
    ...oauth2GrantsStore(db),
    ...oauth2SigningKeysStore(db),
    ...dbcryptKeysStore(db),
    ...secretRowsStore(db),
  };
  const notify = hooks.rolesChanged;
  if (notify) {
    for (const [method, changeOf] of Object.entries(ROLE_WRITES) as Array<
      [keyof DataStore, (arg: never) => RoleChange]
    >) {
      const write = data[method] as (arg: never) => Promise<unknown>;
      (data as unknown as Record<string, unknown>)[method] = async (arg: never) => {
        const result = await write(arg);
        await notify(db, changeOf(arg));
        return result;
      };
    }
  }
  const linkChanged = hooks.linkChanged;
  if (linkChanged) {
    const upsert = data.upsertExternalAuthLink;
    data.upsertExternalAuthLink = async (arg) => {
      const row = await upsert(arg);
      await linkChanged(db, arg);
      return row;
    };
    const save = data.updateExternalAuthLinkRefreshToken;
    data.updateExternalAuthLinkRefreshToken = async (arg) => {
      const written = await save(arg);
      if (written) await linkChanged(db, arg);
      return written;
    };
    const fail = data.updateExternalAuthLinkRefreshFailure;
    data.updateExternalAuthLinkRefreshFailure = async (arg) => {
      const written = await fail(arg);
      if (written) await linkChanged(db, arg);
      return written;
    };
    const remove = data.deleteExternalAuthLink;
    data.deleteExternalAuthLink = async (arg) => {
      const row = await remove(arg);
      if (row) await linkChanged(db, arg);
      return row;
    };
  }
  const keyDeleted = hooks.keyDeleted;
  if (keyDeleted) {
    const remove = data.deleteApiKey;
    data.deleteApiKey = async (arg) => {
      await remove(arg);
      await keyDeleted(db, arg.id);
    };
    // An app's access tokens are API keys: deleting the app deletes them, and says so.
    const removeApp = data.deleteOAuth2App;
    data.deleteOAuth2App = async (arg) => {
      const deleted = await removeApp(arg);
      for (const id of deleted.apiKeyIds) await keyDeleted(db, id);
      return deleted;
    };
    // OAuth2 revocations (code replay, refresh reuse, a user revoking an app) delete
    // access tokens in bulk and return their ids: each is announced like a deleted key.
    const revokeCode = data.revokeOAuth2CodeGrant;
    data.revokeOAuth2CodeGrant = async (arg) => {
      const keys = await revokeCode(arg);
      for (const id of keys) await keyDeleted(db, id);
      return keys;
    };
    const revokeFamily = data.revokeOAuth2RefreshTokenFamily;
    data.revokeOAuth2RefreshTokenFamily = async (arg) => {
      const keys = await revokeFamily(arg);
      for (const id of keys) await keyDeleted(db, id);
      return keys;
    };
    const revokeApp = data.deleteOAuth2GrantsOfUserApp;
    data.deleteOAuth2GrantsOfUserApp = async (arg) => {
      const deleted = await revokeApp(arg);
      for (const id of deleted.keys) await keyDeleted(db, id);
      return deleted;
    };
  }
  const appChanged = hooks.appChanged;
  if (appChanged) {
    for (const method of APP_WRITES) {
      const write = data[method] as (arg: never) => Promise<unknown>;
      (data as unknown as Record<string, unknown>)[method] = async (arg: never) => {
        const result = await write(arg);
        await appChanged(db);
        return result;
      };
    }
  }
  return {
    ...data,
    inTx: (fn, options) => inTx((tx) => fn(createStore(tx, (inner) => inner(tx), hooks)), options),
  };
}
