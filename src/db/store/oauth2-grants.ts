import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database, OAuth2Code, OAuth2Consent, OAuth2RefreshToken } from '../schema.ts';

// What the OAuth2 authorization server grants: codes, refresh tokens, access tokens (API
// keys of login type oauth2_app) and remembered consent. Every exactly-once rule is a
// condition in SQL (`redeemed_at IS NULL`, `rotated_at IS NULL`), so replicas racing on
// one code or one refresh token cannot both win, and each grant is one statement.
// Times are the database's now(): one clock for every replica.

/** An access token to mint: an API key bound to an audience and an app. */
export interface OAuth2AccessKeyArgs {
  readonly id: string;
  readonly hashedSecret: Buffer;
  readonly name: string;
  readonly scopes: readonly string[];
  /** The normalised resource (RFC 8707) the token is for. */
  readonly audience: string;
  readonly lifetimeSeconds: number;
}

/** A refresh token to store (its family, app and user come from the grant). */
export interface OAuth2RefreshArgs {
  readonly id: string;
  readonly tokenHash: Buffer;
  readonly resource: string;
  readonly scope: string;
  readonly lifetimeSeconds: number;
}

export interface InsertOAuth2CodeArgs {
  readonly codeHash: Buffer;
  readonly appId: string;
  readonly userId: string;
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly resource: string;
  readonly scope: string;
  readonly lifetimeSeconds: number;
}

export interface RedeemOAuth2CodeArgs {
  readonly codeId: string;
  readonly userId: string;
  readonly appId: string;
  readonly accessKey: OAuth2AccessKeyArgs;
  /** Omitted for clients that may not refresh. */
  readonly refresh: OAuth2RefreshArgs | undefined;
}

/** An access key whose scopes and audience come from the grant's row (the one-statement grants). */
export type OAuth2GrantKeyArgs = Omit<OAuth2AccessKeyArgs, 'scopes' | 'audience'>;

/** What a one-statement grant issued, from the grant's row. */
export interface OAuth2Issued {
  readonly userId: string;
  /** The grant's scope (as negotiated) and resource. */
  readonly scope: string;
  readonly resource: string;
  /** The access key's scopes, as accessKeyArgs would have made them. */
  readonly keyScopes: string[];
}

export interface RedeemOAuth2CodeByHashArgs {
  readonly codeHash: Buffer;
  readonly appId: string;
  /** S256 of the presented verifier: the code must have been issued for it. */
  readonly codeChallenge: string;
  readonly redirectUri: string;
  /** When the request names one, the code's resource must be it. */
  readonly resource: string | undefined;
  readonly accessKey: OAuth2GrantKeyArgs;
  /** The refresh token to issue (its resource and scope come from the code); omitted for clients that may not refresh. */
  readonly refresh: Pick<OAuth2RefreshArgs, 'id' | 'tokenHash' | 'lifetimeSeconds'> | undefined;
}

export interface RotateOAuth2RefreshTokenByHashArgs {
  readonly tokenHash: Buffer;
  readonly appId: string;
  readonly seed: Buffer;
  readonly successor: Pick<OAuth2RefreshArgs, 'id' | 'tokenHash' | 'lifetimeSeconds'>;
  readonly accessKey: OAuth2GrantKeyArgs;
}

export interface RotateOAuth2RefreshTokenArgs {
  /** The row being rotated, as read: its family, app and user carry over. */
  readonly old: Pick<OAuth2RefreshToken, 'id' | 'family_id' | 'app_id' | 'user_id' | 'code_id'>;
  /** Random; stored on the old row so a repeat within the grace window re-derives the successor. */
  readonly seed: Buffer;
  readonly successor: OAuth2RefreshArgs;
  readonly accessKey: OAuth2AccessKeyArgs;
}

/** A stored code, with whether it is past its expiry by the database's clock. */
export type OAuth2CodeState = OAuth2Code & { readonly expired: boolean };

/** A stored refresh token with its standing by the database's clock. */
export type OAuth2RefreshTokenState = OAuth2RefreshToken & {
  readonly expired: boolean;
  /** Rotated no longer ago than the grace window. */
  readonly in_grace: boolean;
};

/** The access key issued with a successor refresh token (enough to answer a repeat). */
export interface OAuth2SuccessorKey {
  readonly id: string;
  readonly hashedSecret: Buffer;
  readonly scopes: string[];
  readonly audience: string;
  readonly expiresAt: Date;
  readonly createdAt: Date;
}

interface SuccessorKey {
  key_id: string;
  key_hashed_secret: Buffer;
  key_scopes: string[];
  key_audience: string;
  key_expires_at: Date;
  key_created_at: Date;
}

/** An app a user has authorized, as listed to them. */
export interface OAuth2UserApp extends OAuth2Consent {
  readonly client_id: string;
  readonly name: string;
  /** Refresh tokens still usable. */
  readonly active_tokens: number;
}

export interface OAuth2GrantsStore {
  insertOAuth2Code(arg: InsertOAuth2CodeArgs): Promise<void>;
  getOAuth2CodeByHash(arg: { codeHash: Buffer }): Promise<OAuth2CodeState | undefined>;
  /** Redeems the code once and issues its tokens, in one statement; false when already redeemed or expired. */
  redeemOAuth2Code(arg: RedeemOAuth2CodeArgs): Promise<boolean>;
  /**
   * The usual code exchange in ONE round trip: the code named by its hash, if it is
   * `appId`'s, unredeemed, unexpired and was issued for this verifier, redirect URI (and
   * resource), is redeemed and its tokens issued. Undefined otherwise — the caller then
   * reads the code to say why (and to treat a replay as one).
   */
  redeemOAuth2CodeByHash(arg: RedeemOAuth2CodeByHashArgs): Promise<OAuth2Issued | undefined>;
  /** A replayed code: revokes everything its redemption issued. Returns the deleted access keys. */
  revokeOAuth2CodeGrant(arg: { codeId: string }): Promise<string[]>;
  getOAuth2RefreshTokenByHash(arg: {
    tokenHash: Buffer;
    graceSeconds: number;
  }): Promise<OAuth2RefreshTokenState | undefined>;
  /** Rotates once and issues the successor, in one statement; false when it lost the race. */
  rotateOAuth2RefreshToken(arg: RotateOAuth2RefreshTokenArgs): Promise<boolean>;
  /**
   * The usual refresh in ONE round trip: the token named by its hash, if it is `appId`'s and
   * stands (not rotated, revoked or expired), is rotated, and its successor and an access
   * key with the grant's scope and resource issued. Undefined when nothing was rotated —
   * the caller then reads the token to say why (or to answer a repeat).
   */
  rotateOAuth2RefreshTokenByHash(arg: RotateOAuth2RefreshTokenByHashArgs): Promise<OAuth2Issued | undefined>;
  /** The successor of a rotated token and the access key issued with it, while both stand. */
  getOAuth2RefreshTokenSuccessor(arg: {
    id: string;
  }): Promise<{ token: OAuth2RefreshToken; key: OAuth2SuccessorKey } | undefined>;
  /** Refresh-token reuse (or revocation): the whole family and its access keys. Returns the deleted keys. */
  revokeOAuth2RefreshTokenFamily(arg: { familyId: string }): Promise<string[]>;
  /** An access token without a refresh token (client_credentials). */
  insertOAuth2AccessToken(arg: {
    userId: string;
    appId: string;
    accessKey: OAuth2AccessKeyArgs;
  }): Promise<{ id: string }>;
  getOAuth2Consent(arg: { userId: string; appId: string }): Promise<OAuth2Consent | undefined>;
  upsertOAuth2Consent(arg: { userId: string; appId: string; scope: string }): Promise<void>;
  listOAuth2AppsOfUser(arg: { userId: string }): Promise<OAuth2UserApp[]>;
  /** Revokes an app for a user: consent, codes, refresh tokens and access keys. Returns the deleted keys. */
  deleteOAuth2GrantsOfUserApp(arg: {
    userId: string;
    appId: string;
  }): Promise<{ found: boolean; keys: string[] }>;
  deleteExpiredOAuth2Grants(arg: { before: Date }): Promise<number>;
}

const interval = (seconds: number) => sql`make_interval(secs => ${seconds})`;

/**
 * The INSERT of an OAuth access key, one row per row of the CTE `from`. Its user, scopes,
 * audience and app are SQL: values the caller knows, or columns of `from` (the one-statement
 * grants take them from the grant's row).
 */
function insertKey(
  key: OAuth2GrantKeyArgs,
  from: string,
  of: {
    readonly userId: RawBuilder<unknown>;
    readonly scopes: RawBuilder<unknown>;
    readonly audience: RawBuilder<unknown>;
    readonly appId: RawBuilder<unknown>;
  },
) {
  return sql`
    INSERT INTO api_keys (id, hashed_secret, user_id, name, login_type, scopes, allow_list,
                          lifetime_seconds, expires_at, audience, oauth2_app_id)
    SELECT ${key.id}, ${key.hashedSecret}, ${of.userId}, ${key.name}, 'oauth2_app', ${of.scopes},
           '{*:*}', ${key.lifetimeSeconds}, now() + ${interval(key.lifetimeSeconds)}, ${of.audience}, ${of.appId}
    FROM ${sql.table(from)}
    RETURNING id`;
}

function insertAccessKey(userId: string, appId: string, key: OAuth2AccessKeyArgs, from: string) {
  return insertKey(key, from, {
    userId: sql`${userId}`,
    scopes: sql`${[...key.scopes]}::text[]`,
    audience: sql`${key.audience}`,
    appId: sql`${appId}`,
  });
}

/**
 * The access key's scopes from a grant's scope column, as accessKeyArgs (src/oauth2/grants/
 * tokens.ts) makes them: `latchkey:all` absorbs everything, offline_access limits nothing.
 * Stored scopes are negotiated names joined by single spaces, without duplicates.
 */
const KEY_SCOPES = sql`CASE WHEN 'latchkey:all' = ANY (string_to_array(scope, ' ')) THEN ARRAY['latchkey:all']
                            ELSE array_remove(string_to_array(scope, ' '), 'offline_access') END`;

/** An access key from the grant's row in `from` (user_id, key_scopes, resource, app_id). */
function insertGrantKey(key: OAuth2GrantKeyArgs, from: string) {
  return insertKey(key, from, {
    userId: sql`user_id`,
    scopes: sql`key_scopes`,
    audience: sql`resource`,
    appId: sql`app_id`,
  });
}

const issued = (rows: Array<{ user_id: string; scope: string; resource: string; key_scopes: string[] }>) => {
  const row = rows[0];
  return row && { userId: row.user_id, scope: row.scope, resource: row.resource, keyScopes: row.key_scopes };
};

export function oauth2GrantsStore(db: Kysely<Database>): OAuth2GrantsStore {
  return {
    insertOAuth2Code: async (arg) => {
      await sql`
        INSERT INTO oauth2_codes (code_hash, app_id, user_id, redirect_uri, code_challenge, resource, scope, expires_at)
        VALUES (${arg.codeHash}, ${arg.appId}, ${arg.userId}, ${arg.redirectUri}, ${arg.codeChallenge},
                ${arg.resource}, ${arg.scope}, now() + ${interval(arg.lifetimeSeconds)})`.execute(db);
    },

    getOAuth2CodeByHash: async ({ codeHash }) => {
      const { rows } = await sql<OAuth2CodeState>`
        SELECT *, expires_at <= now() AS expired FROM oauth2_codes WHERE code_hash = ${codeHash}`.execute(db);
      return rows[0];
    },

    redeemOAuth2Code: async ({ codeId, userId, appId, accessKey, refresh }) => {
      // `redeemed_at IS NULL` decides which of two racing redemptions wins: the loser's
      // UPDATE waits for the winner's commit, then matches no row and inserts nothing.
      // The refresh family's id is the code's id, so a replay finds what was issued.
      const refreshInsert = refresh
        ? sql`, refresh AS (
            INSERT INTO oauth2_refresh_tokens (id, token_hash, family_id, app_id, user_id, code_id, api_key_id,
                                               resource, scope, expires_at)
            SELECT ${refresh.id}, ${refresh.tokenHash}, ${codeId}, ${appId}, ${userId}, ${codeId}, ${accessKey.id},
                   ${refresh.resource}, ${refresh.scope}, now() + ${interval(refresh.lifetimeSeconds)}
            FROM redeemed
            RETURNING id)`
        : sql``;
      const { rows } = await sql<{ id: string }>`
        WITH redeemed AS (
          UPDATE oauth2_codes SET redeemed_at = now(), api_key_id = ${accessKey.id}
          WHERE id = ${codeId} AND redeemed_at IS NULL AND expires_at > now()
          RETURNING id
        ), access AS (${insertAccessKey(userId, appId, accessKey, 'redeemed')})
        ${refreshInsert}
        SELECT id FROM access`.execute(db);
      return rows.length === 1;
    },

    redeemOAuth2CodeByHash: async ({
      codeHash,
      appId,
      codeChallenge,
      redirectUri,
      resource,
      accessKey,
      refresh,
    }) => {
      // As redeemOAuth2Code, with the checks of the slow path folded into the WHERE clause.
      const refreshInsert = refresh
        ? sql`, refresh AS (
            INSERT INTO oauth2_refresh_tokens (id, token_hash, family_id, app_id, user_id, code_id, api_key_id,
                                               resource, scope, expires_at)
            SELECT ${refresh.id}, ${refresh.tokenHash}, id, app_id, user_id, id, ${accessKey.id},
                   resource, scope, now() + ${interval(refresh.lifetimeSeconds)}
            FROM redeemed
            RETURNING id)`
        : sql``;
      const { rows } = await sql<{ user_id: string; scope: string; resource: string; key_scopes: string[] }>`
        WITH redeemed AS (
          UPDATE oauth2_codes SET redeemed_at = now(), api_key_id = ${accessKey.id}
          WHERE code_hash = ${codeHash} AND app_id = ${appId} AND code_challenge = ${codeChallenge}
            AND redirect_uri = ${redirectUri} AND redeemed_at IS NULL AND expires_at > now()
            ${resource === undefined ? sql`` : sql`AND resource = ${resource}`}
          RETURNING id, app_id, user_id, resource, scope, ${KEY_SCOPES} AS key_scopes
        ), access AS (${insertGrantKey(accessKey, 'redeemed')})
        ${refreshInsert}
        SELECT user_id, scope, resource, key_scopes FROM redeemed`.execute(db);
      return issued(rows);
    },

    revokeOAuth2CodeGrant: async ({ codeId }) => {
      const { rows } = await sql<{ id: string }>`
        WITH revoked AS (
          UPDATE oauth2_refresh_tokens SET revoked_at = now()
          WHERE family_id = ${codeId} AND revoked_at IS NULL
        )
        DELETE FROM api_keys
        WHERE id IN (SELECT api_key_id FROM oauth2_refresh_tokens WHERE family_id = ${codeId})
           OR id = (SELECT api_key_id FROM oauth2_codes WHERE id = ${codeId})
        RETURNING id`.execute(db);
      return rows.map((r) => r.id);
    },

    getOAuth2RefreshTokenByHash: async ({ tokenHash, graceSeconds }) => {
      const { rows } = await sql<OAuth2RefreshTokenState>`
        SELECT *, expires_at <= now() AS expired,
               coalesce(rotated_at > now() - ${interval(graceSeconds)}, false) AS in_grace
        FROM oauth2_refresh_tokens WHERE token_hash = ${tokenHash}`.execute(db);
      return rows[0];
    },

    rotateOAuth2RefreshToken: async ({ old, seed, successor, accessKey }) => {
      // The old token dies in the same statement that creates its successor: there is no
      // moment in which both work, and of two racing rotations only one matches
      // `rotated_at IS NULL` (the other waits for its commit, then matches nothing).
      const { rows } = await sql<{ id: string }>`
        WITH rotated AS (
          UPDATE oauth2_refresh_tokens
          SET rotated_at = now(), successor_id = ${successor.id}, successor_seed = ${seed}
          WHERE id = ${old.id} AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > now()
          RETURNING id
        ), access AS (${insertAccessKey(old.user_id, old.app_id, accessKey, 'rotated')})
        INSERT INTO oauth2_refresh_tokens (id, token_hash, family_id, app_id, user_id, code_id, api_key_id,
                                           resource, scope, expires_at)
        SELECT ${successor.id}, ${successor.tokenHash}, ${old.family_id}, ${old.app_id}, ${old.user_id},
               ${old.code_id}, (SELECT id FROM access), ${successor.resource}, ${successor.scope},
               now() + ${interval(successor.lifetimeSeconds)}
        FROM rotated
        RETURNING id`.execute(db);
      return rows.length === 1;
    },

    rotateOAuth2RefreshTokenByHash: async ({ tokenHash, appId, seed, successor, accessKey }) => {
      // As rotateOAuth2RefreshToken, finding the token by its hash in the same statement.
      const { rows } = await sql<{ user_id: string; scope: string; resource: string; key_scopes: string[] }>`
        WITH rotated AS (
          UPDATE oauth2_refresh_tokens
          SET rotated_at = now(), successor_id = ${successor.id}, successor_seed = ${seed}
          WHERE token_hash = ${tokenHash} AND app_id = ${appId}
            AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > now()
          RETURNING family_id, app_id, user_id, code_id, resource, scope, ${KEY_SCOPES} AS key_scopes
        ), access AS (${insertGrantKey(accessKey, 'rotated')}),
        successor AS (
          INSERT INTO oauth2_refresh_tokens (id, token_hash, family_id, app_id, user_id, code_id, api_key_id,
                                             resource, scope, expires_at)
          SELECT ${successor.id}, ${successor.tokenHash}, family_id, app_id, user_id, code_id,
                 (SELECT id FROM access), resource, scope, now() + ${interval(successor.lifetimeSeconds)}
          FROM rotated
          RETURNING id)
        SELECT user_id, scope, resource, key_scopes FROM rotated`.execute(db);
      return issued(rows);
    },

    getOAuth2RefreshTokenSuccessor: async ({ id }) => {
      const { rows } = await sql<OAuth2RefreshToken & SuccessorKey>`
        SELECT t.*, k.id AS key_id, k.hashed_secret AS key_hashed_secret, k.scopes AS key_scopes,
               k.audience AS key_audience, k.expires_at AS key_expires_at,
               k.created_at AS key_created_at
        FROM oauth2_refresh_tokens o
        JOIN oauth2_refresh_tokens t ON t.id = o.successor_id
        JOIN api_keys k ON k.id = t.api_key_id
        WHERE o.id = ${id} AND t.rotated_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > now()`.execute(
        db,
      );
      const row = rows[0];
      if (!row) return undefined;
      const {
        key_id,
        key_hashed_secret,
        key_scopes,
        key_audience,
        key_expires_at,
        key_created_at,
        ...token
      } = row;
      return {
        token,
        key: {
          id: key_id,
          hashedSecret: key_hashed_secret,
          scopes: key_scopes,
          audience: key_audience,
          expiresAt: key_expires_at,
          createdAt: key_created_at,
        },
      };
    },

    revokeOAuth2RefreshTokenFamily: async ({ familyId }) => {
      const { rows } = await sql<{ id: string }>`
        WITH revoked AS (
          UPDATE oauth2_refresh_tokens SET revoked_at = now()
          WHERE family_id = ${familyId} AND revoked_at IS NULL
        )
        DELETE FROM api_keys
        WHERE id IN (SELECT api_key_id FROM oauth2_refresh_tokens WHERE family_id = ${familyId})
        RETURNING id`.execute(db);
      return rows.map((r) => r.id);
    },

    insertOAuth2AccessToken: async ({ userId, appId, accessKey }) => {
      // The grants' INSERT (one text, so it is prepared once per connection; no RETURNING *).
      const { rows } = await sql<{ id: string }>`
        WITH one AS (SELECT 1) ${insertAccessKey(userId, appId, accessKey, 'one')}`.execute(db);
      const row = rows[0];
      if (!row) throw new Error('insertOAuth2AccessToken: no row inserted');
      return row;
    },

    getOAuth2Consent: ({ userId, appId }) =>
      db
        .selectFrom('oauth2_consents')
        .selectAll()
        .where('user_id', '=', userId)
        .where('app_id', '=', appId)
        .executeTakeFirst(),

    upsertOAuth2Consent: async ({ userId, appId, scope }) => {
      await db
        .insertInto('oauth2_consents')
        .values({ user_id: userId, app_id: appId, scope })
        .onConflict((oc) => oc.columns(['user_id', 'app_id']).doUpdateSet({ scope, updated_at: sql`now()` }))
        .execute();
    },

    listOAuth2AppsOfUser: async ({ userId }) => {
      const { rows } = await sql<OAuth2UserApp>`
        SELECT c.*, a.client_id, a.name,
               (SELECT count(*)::int FROM oauth2_refresh_tokens r
                WHERE r.user_id = c.user_id AND r.app_id = c.app_id
                  AND r.rotated_at IS NULL AND r.revoked_at IS NULL AND r.expires_at > now()) AS active_tokens
        FROM oauth2_consents c JOIN oauth2_apps a ON a.id = c.app_id
        WHERE c.user_id = ${userId}
        ORDER BY c.updated_at DESC`.execute(db);
      return rows;
    },

    deleteOAuth2GrantsOfUserApp: async ({ userId, appId }) => {
      const { rows } = await sql<{ kind: string; id: string }>`
        WITH consent AS (
          DELETE FROM oauth2_consents WHERE user_id = ${userId} AND app_id = ${appId} RETURNING 'consent'::text AS kind, app_id::text AS id
        ), codes AS (
          DELETE FROM oauth2_codes WHERE user_id = ${userId} AND app_id = ${appId} RETURNING 'code'::text AS kind, id::text
        ), refresh AS (
          DELETE FROM oauth2_refresh_tokens WHERE user_id = ${userId} AND app_id = ${appId} RETURNING 'refresh'::text AS kind, id::text
        ), keys AS (
          DELETE FROM api_keys WHERE user_id = ${userId} AND oauth2_app_id = ${appId} RETURNING 'key'::text AS kind, id
        )
        SELECT * FROM consent UNION ALL SELECT * FROM refresh UNION ALL SELECT * FROM keys
        UNION ALL SELECT * FROM codes`.execute(db);
      return {
        found: rows.some((r) => r.kind !== 'key'),
        keys: rows.filter((r) => r.kind === 'key').map((r) => r.id),
      };
    },

    deleteExpiredOAuth2Grants: async ({ before }) => {
      const codes = await db.deleteFrom('oauth2_codes').where('expires_at', '<', before).executeTakeFirst();
      const tokens = await db
        .deleteFrom('oauth2_refresh_tokens')
        .where('expires_at', '<', before)
        .executeTakeFirst();
      return Number(codes.numDeletedRows) + Number(tokens.numDeletedRows);
    },
  };
}
