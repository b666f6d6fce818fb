import { type Kysely, sql } from 'kysely';
import type { Database, ExternalAuthLink, ExternalAuthLinkState, TokenExtra } from '../schema.ts';
import { RowNotFoundError } from './errors.ts';
import { applyFilter, type RowFilter } from './filter.ts';

/** What an upstream token response leaves us, as stored. */
export interface LinkTokens {
  readonly accessToken: string;
  /** '' when the provider issued none. */
  readonly refreshToken: string;
  readonly expiry: Date | null;
  readonly issuedAt: Date;
  readonly extra: TokenExtra;
}

export interface LinkKey {
  readonly userId: string;
  readonly providerId: string;
}

export interface InsertExternalAuthLinkStateArgs {
  readonly stateHash: Buffer;
  readonly userId: string;
  readonly providerId: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
  readonly returnTo: string;
  readonly expiresAt: Date;
}

export interface ExternalAuthLinksStore {
  getExternalAuthLink(arg: LinkKey): Promise<ExternalAuthLink | undefined>;
  listExternalAuthLinksOfUser(arg: { userId: string }, filter?: RowFilter): Promise<ExternalAuthLink[]>;
  /** Links (or re-links) a user: new tokens, and any recorded failure forgotten. */
  upsertExternalAuthLink(
    arg: LinkKey & { tokens: LinkTokens; upstreamLogin?: string | undefined },
  ): Promise<ExternalAuthLink>;
  /**
   * Saves refreshed tokens only if the refresh token is still the one that was spent:
   * returns false when another refresher (or a re-link) got there first.
   */
  updateExternalAuthLinkRefreshToken(
    arg: LinkKey & { oldRefreshToken: string; tokens: LinkTokens },
  ): Promise<boolean>;
  /** Records a permanent refresh failure and clears the refresh token, under the same optimistic rule. */
  updateExternalAuthLinkRefreshFailure(
    arg: LinkKey & { oldRefreshToken: string; reason: string },
  ): Promise<boolean>;
  deleteExternalAuthLink(arg: LinkKey): Promise<ExternalAuthLink | undefined>;
  insertExternalAuthLinkState(arg: InsertExternalAuthLinkStateArgs): Promise<void>;
  /** Reads a link flow's state without taking it (a device flow polls many times); undefined once expired. */
  getExternalAuthLinkState(arg: { stateHash: Buffer; now: Date }): Promise<ExternalAuthLinkState | undefined>;
  /** Takes a link flow's state: single use, and only before it expires. */
  consumeExternalAuthLinkState(arg: {
    stateHash: Buffer;
    now: Date;
  }): Promise<ExternalAuthLinkState | undefined>;
}

const key = (db: Kysely<Database>, { userId, providerId }: LinkKey) =>
  db.updateTable('external_auth_links').where('user_id', '=', userId).where('provider_id', '=', providerId);

export function externalAuthLinksStore(db: Kysely<Database>): ExternalAuthLinksStore {
  return {
    getExternalAuthLink: ({ userId, providerId }) =>
      db
        .selectFrom('external_auth_links')
        .selectAll()
        .where('user_id', '=', userId)
        .where('provider_id', '=', providerId)
        .executeTakeFirst(),
    listExternalAuthLinksOfUser: ({ userId }, filter) => {
      let q = db.selectFrom('external_auth_links').selectAll().where('user_id', '=', userId);
      if (filter) {
        q = q.where((eb) =>
          applyFilter(eb, filter, {
            id: 'external_auth_links.provider_id',
            owner: 'external_auth_links.user_id',
          }),
        );
      }
      return q.orderBy('provider_id').execute();
    },
    upsertExternalAuthLink: ({ userId, providerId, tokens, upstreamLogin }) => {
      const values = {
        oauth_access_token: tokens.accessToken,
        oauth_refresh_token: tokens.refreshToken,
        oauth_expiry: tokens.expiry,
        oauth_token_issued_at: tokens.issuedAt,
        oauth_extra: JSON.stringify(tokens.extra),
        oauth_refresh_failure_reason: '',
        upstream_login: upstreamLogin ?? '',
      };
      return db
        .insertInto('external_auth_links')
        .values({ user_id: userId, provider_id: providerId, ...values })
        .onConflict((oc) =>
          oc.columns(['user_id', 'provider_id']).doUpdateSet({ ...values, updated_at: sql`now()` }),
        )
        .returningAll()
        .executeTakeFirstOrThrow(() => new RowNotFoundError('external_auth_links'));
    },
    updateExternalAuthLinkRefreshToken: async ({ oldRefreshToken, tokens, ...link }) => {
      // The optimistic lock (EA-3): a loser of the race spent a refresh token the winner
      // already replaced; its write must not overwrite the winner's tokens.
      const result = await key(db, link)
        .set({
          oauth_access_token: tokens.accessToken,
          oauth_refresh_token: tokens.refreshToken,
          oauth_expiry: tokens.expiry,
          oauth_token_issued_at: tokens.issuedAt,
          oauth_extra: JSON.stringify(tokens.extra),
          oauth_refresh_failure_reason: '',
          updated_at: sql`now()`,
        })
        .where('oauth_refresh_token', '=', oldRefreshToken)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    updateExternalAuthLinkRefreshFailure: async ({ oldRefreshToken, reason, ...link }) => {
      // Cleared to '' (not NULL) so it stays distinguishable once encrypted (DC-1); the
      // access token is kept: it may still work until it expires.
      const result = await key(db, link)
        .set({ oauth_refresh_token: '', oauth_refresh_failure_reason: reason, updated_at: sql`now()` })
        .where('oauth_refresh_token', '=', oldRefreshToken)
        .where('oauth_refresh_token', '<>', '')
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    deleteExternalAuthLink: ({ userId, providerId }) =>
      db
        .deleteFrom('external_auth_links')
        .where('user_id', '=', userId)
        .where('provider_id', '=', providerId)
        .returningAll()
        .executeTakeFirst(),
    insertExternalAuthLinkState: async (arg) => {
      // Housekeeping on the way: flows this user abandoned earlier are dropped here, so no
      // background job needs the right to delete anyone's link states.
      await db
        .deleteFrom('external_auth_link_states')
        .where('user_id', '=', arg.userId)
        .where('expires_at', '<', sql<Date>`now()`)
        .execute();
      await db
        .insertInto('external_auth_link_states')
        .values({
          state_hash: arg.stateHash,
          user_id: arg.userId,
          provider_id: arg.providerId,
          code_verifier: arg.codeVerifier,
          redirect_uri: arg.redirectUri,
          return_to: arg.returnTo,
          expires_at: arg.expiresAt,
        })
        .execute();
    },
    getExternalAuthLinkState: ({ stateHash, now }) =>
      db
        .selectFrom('external_auth_link_states')
        .selectAll()
        .where('state_hash', '=', stateHash)
        .where('expires_at', '>', now)
        .executeTakeFirst(),
    consumeExternalAuthLinkState: async ({ stateHash, now }) => {
      const row = await db
        .deleteFrom('external_auth_link_states')
        .where('state_hash', '=', stateHash)
        .returningAll()
        .executeTakeFirst();
      return row && row.expires_at > now ? row : undefined;
    },
  };
}
