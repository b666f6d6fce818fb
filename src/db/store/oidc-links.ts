import { type Kysely, sql } from 'kysely';
import type { Database, OidcClaims, OidcLink } from '../schema.ts';
import { RowNotFoundError } from './errors.ts';
import type { LinkTokens } from './external-auth-links.ts';

export interface UpsertOidcLinkArgs {
  readonly userId: string;
  readonly issuer: string;
  readonly subject: string;
  readonly tokens: LinkTokens;
  readonly claims: OidcClaims;
}

export interface OidcLinksStore {
  getOidcLinkByUser(arg: { userId: string }): Promise<OidcLink | undefined>;
  getOidcLinkBySubject(arg: { issuer: string; subject: string }): Promise<OidcLink | undefined>;
  /** Signing in: fresh tokens and claims; a recorded refresh failure is forgotten. */
  upsertOidcLink(arg: UpsertOidcLinkArgs): Promise<OidcLink>;
  /** Optimistic, like updateExternalAuthLinkRefreshToken: false if someone else refreshed first. */
  updateOidcLinkRefreshToken(arg: {
    userId: string;
    oldRefreshToken: string;
    tokens: LinkTokens;
  }): Promise<boolean>;
  updateOidcLinkRefreshFailure(arg: {
    userId: string;
    oldRefreshToken: string;
    reason: string;
  }): Promise<boolean>;
}

export function oidcLinksStore(db: Kysely<Database>): OidcLinksStore {
  const byUser = (userId: string) => db.updateTable('oidc_links').where('user_id', '=', userId);
  return {
    getOidcLinkByUser: ({ userId }) =>
      db.selectFrom('oidc_links').selectAll().where('user_id', '=', userId).executeTakeFirst(),
    getOidcLinkBySubject: ({ issuer, subject }) =>
      db
        .selectFrom('oidc_links')
        .selectAll()
        .where('issuer', '=', issuer)
        .where('subject', '=', subject)
        .executeTakeFirst(),
    upsertOidcLink: ({ userId, issuer, subject, tokens, claims }) => {
      const values = {
        issuer,
        subject,
        oauth_access_token: tokens.accessToken,
        oauth_refresh_token: tokens.refreshToken,
        oauth_expiry: tokens.expiry,
        oauth_token_issued_at: tokens.issuedAt,
        oauth_refresh_failure_reason: '',
        claims: JSON.stringify(claims),
      };
      return db
        .insertInto('oidc_links')
        .values({ user_id: userId, ...values })
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ ...values, updated_at: sql`now()` }))
        .returningAll()
        .executeTakeFirstOrThrow(() => new RowNotFoundError('oidc_links'));
    },
    updateOidcLinkRefreshToken: async ({ userId, oldRefreshToken, tokens }) => {
      // The same optimistic rule as the vault (EA-3): a loser's write changes nothing.
      const result = await byUser(userId)
        .set({
          oauth_access_token: tokens.accessToken,
          oauth_refresh_token: tokens.refreshToken,
          oauth_expiry: tokens.expiry,
          oauth_token_issued_at: tokens.issuedAt,
          oauth_refresh_failure_reason: '',
          updated_at: sql`now()`,
        })
        .where('oauth_refresh_token', '=', oldRefreshToken)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    updateOidcLinkRefreshFailure: async ({ userId, oldRefreshToken, reason }) => {
      const result = await byUser(userId)
        .set({ oauth_refresh_token: '', oauth_refresh_failure_reason: reason, updated_at: sql`now()` })
        .where('oauth_refresh_token', '=', oldRefreshToken)
        .where('oauth_refresh_token', '<>', '')
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}
