import { type Kysely, sql } from 'kysely';
import type { Database, OAuth2App, OAuth2AppSecret, OAuth2AppsTable } from '../schema.ts';
import { RowNotFoundError } from './errors.ts';
import { applyFilter, type RowFilter } from './filter.ts';

/** Everything about a client that its registration (or an admin) sets. */
export interface OAuth2AppFields {
  readonly name: string;
  readonly applicationType: 'web' | 'native';
  readonly tokenEndpointAuthMethod: OAuth2AppsTable['token_endpoint_auth_method'];
  readonly redirectUris: readonly string[];
  readonly grantTypes: readonly string[];
  readonly responseTypes: readonly string[];
  readonly scope: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Set by admins only (RFC 9068 JWTs for every audience); left as it is when omitted. */
  readonly accessTokenFormat?: 'opaque' | 'jwt' | undefined;
}

export interface InsertOAuth2AppArgs extends OAuth2AppFields {
  readonly clientId: string;
  readonly origin: OAuth2AppsTable['origin'];
  readonly registrationTokenHash: Buffer | null;
  readonly createdBy: string | null;
}

export interface OAuth2AppsStore {
  getOAuth2AppById(arg: { id: string }): Promise<OAuth2App | undefined>;
  getOAuth2AppByClientId(arg: { clientId: string }): Promise<OAuth2App | undefined>;
  /** Apps, oldest first, at most `limit`; filtered in SQL by the caller's authz. */
  listOAuth2Apps(
    arg: { origin?: OAuth2AppsTable['origin'] | undefined; limit: number },
    filter?: RowFilter,
  ): Promise<OAuth2App[]>;
  insertOAuth2App(arg: InsertOAuth2AppArgs): Promise<OAuth2App>;
  /**
   * Creates or refreshes the row mirroring a client ID metadata document (its URL is the
   * client_id). Never touches a row of another origin with the same client_id.
   */
  upsertOAuth2AppFromDocument(arg: { clientId: string } & OAuth2AppFields): Promise<OAuth2App>;
  /** Replaces what a registration (or an admin) sets; RowNotFoundError when the app is gone. */
  updateOAuth2App(arg: { id: string } & OAuth2AppFields): Promise<OAuth2App>;
  /**
   * Replaces the registration access token (RFC 7592), only if it is still `oldHash`:
   * two updates racing with the same token cannot both rotate it. Returns whether it did.
   */
  updateOAuth2AppRegistrationToken(arg: { id: string; oldHash: Buffer; newHash: Buffer }): Promise<boolean>;
  /**
   * Deletes the app with its secrets, codes, refresh tokens and consents (ON DELETE
   * CASCADE), and its access tokens (API keys), whose ids it returns so the store's hook
   * can tell every replica's key cache they are gone.
   */
  deleteOAuth2App(arg: { id: string }): Promise<{ apiKeyIds: string[] }>;
  insertOAuth2AppSecret(arg: {
    appId: string;
    displayPrefix: string;
    hashedSecret: Buffer;
  }): Promise<OAuth2AppSecret>;
  /** The app's secrets, newest first (a client may hold two while rotating). */
  listOAuth2AppSecrets(arg: { appId: string }): Promise<OAuth2AppSecret[]>;
  /** Deletes one secret of the app; RowNotFoundError when it has no such secret. */
  deleteOAuth2AppSecret(arg: { appId: string; id: string }): Promise<void>;
  /** Deletes every secret of the app (it became a public client); returns how many. */
  deleteOAuth2AppSecrets(arg: { appId: string }): Promise<number>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function fieldValues(arg: OAuth2AppFields) {
  return {
    name: arg.name,
    application_type: arg.applicationType,
    token_endpoint_auth_method: arg.tokenEndpointAuthMethod,
    redirect_uris: [...arg.redirectUris],
    grant_types: [...arg.grantTypes],
    response_types: [...arg.responseTypes],
    scope: arg.scope,
    metadata: JSON.stringify(arg.metadata),
    ...(arg.accessTokenFormat ? { access_token_format: arg.accessTokenFormat } : {}),
  };
}

export function oauth2AppsStore(db: Kysely<Database>): OAuth2AppsStore {
  return {
    // Ids come from URLs: anything but a uuid is simply not found (PostgreSQL would refuse it).
    getOAuth2AppById: async ({ id }) =>
      UUID.test(id)
        ? db.selectFrom('oauth2_apps').selectAll().where('id', '=', id).executeTakeFirst()
        : undefined,
    getOAuth2AppByClientId: ({ clientId }) =>
      db.selectFrom('oauth2_apps').selectAll().where('client_id', '=', clientId).executeTakeFirst(),
    listOAuth2Apps: ({ origin, limit }, filter) => {
      let q = db.selectFrom('oauth2_apps').selectAll();
      if (origin) q = q.where('origin', '=', origin);
      if (filter) q = q.where((eb) => applyFilter(eb, filter, { id: 'oauth2_apps.id' }));
      return q.orderBy('created_at').orderBy('id').limit(limit).execute();
    },
    insertOAuth2App: (arg) =>
      db
        .insertInto('oauth2_apps')
        .values({
          client_id: arg.clientId,
          origin: arg.origin,
          ...fieldValues(arg),
          registration_token_hash: arg.registrationTokenHash,
          created_by: arg.createdBy,
        })
        .returningAll()
        .executeTakeFirstOrThrow(() => new RowNotFoundError('oauth2_apps')),
    upsertOAuth2AppFromDocument: (arg) =>
      db
        .insertInto('oauth2_apps')
        .values({ client_id: arg.clientId, origin: 'metadata_document', ...fieldValues(arg) })
        .onConflict((oc) =>
          oc
            .column('client_id')
            .doUpdateSet({ ...fieldValues(arg), updated_at: sql`now()` })
            // A registered or admin app keeps its row even if someone serves a document at its id.
            .where('oauth2_apps.origin', '=', 'metadata_document'),
        )
        .returningAll()
        .executeTakeFirstOrThrow(() => new RowNotFoundError('oauth2_apps')),
    updateOAuth2App: ({ id, ...fields }) =>
      db
        .updateTable('oauth2_apps')
        .set({ ...fieldValues(fields), updated_at: sql`now()` })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow(() => new RowNotFoundError('oauth2_apps')),
    updateOAuth2AppRegistrationToken: async ({ id, oldHash, newHash }) => {
      // Compare-and-swap in SQL: the WHERE on the old hash is what makes rotation single-winner.
      const result = await db
        .updateTable('oauth2_apps')
        .set({ registration_token_hash: newHash, updated_at: sql`now()` })
        .where('id', '=', id)
        .where('registration_token_hash', '=', oldHash)
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },
    deleteOAuth2App: async ({ id }) => {
      // One statement: the keys and the app go together. The cascade from oauth2_apps would
      // delete the keys too, but silently; returning their ids lets caches drop them at once.
      const result = await sql<{ id: string; app: boolean }>`
        WITH keys AS (DELETE FROM api_keys WHERE oauth2_app_id = ${id} RETURNING id),
             app AS (DELETE FROM oauth2_apps WHERE id = ${id} RETURNING id)
        SELECT k.id, false AS app FROM keys k
        UNION ALL SELECT a.id::text, true AS app FROM app a`.execute(db);
      if (!result.rows.some((r) => r.app)) throw new RowNotFoundError('oauth2_apps');
      return { apiKeyIds: result.rows.filter((r) => !r.app).map((r) => r.id) };
    },
    insertOAuth2AppSecret: ({ appId, displayPrefix, hashedSecret }) =>
      db
        .insertInto('oauth2_app_secrets')
        .values({ app_id: appId, display_prefix: displayPrefix, hashed_secret: hashedSecret })
        .returningAll()
        .executeTakeFirstOrThrow(() => new RowNotFoundError('oauth2_app_secrets')),
    listOAuth2AppSecrets: ({ appId }) =>
      db
        .selectFrom('oauth2_app_secrets')
        .selectAll()
        .where('app_id', '=', appId)
        .orderBy(sql`created_at`, 'desc')
        .execute(),
    deleteOAuth2AppSecret: async ({ appId, id }) => {
      if (!UUID.test(id)) throw new RowNotFoundError('oauth2_app_secrets');
      const result = await db
        .deleteFrom('oauth2_app_secrets')
        .where('id', '=', id)
        .where('app_id', '=', appId)
        .executeTakeFirst();
      if (result.numDeletedRows !== 1n) throw new RowNotFoundError('oauth2_app_secrets');
    },
    deleteOAuth2AppSecrets: async ({ appId }) => {
      const result = await db.deleteFrom('oauth2_app_secrets').where('app_id', '=', appId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
