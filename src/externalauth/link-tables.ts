import type { DataStore, ExternalAuthLink, LinkTokens, OidcLink } from '../db/index.ts';

/** The columns the refresher works with; both kinds of link have them. */
export type RefreshableLink = Pick<
  ExternalAuthLink,
  | 'oauth_access_token'
  | 'oauth_refresh_token'
  | 'oauth_expiry'
  | 'oauth_token_issued_at'
  | 'oauth_refresh_failure_reason'
>;

/**
 * Where a kind of link lives, so one refresher (and its exactly-once rules) serves both
 * external-auth links and OIDC login links (AK-6 refreshes "exactly once, see EA-3").
 */
export interface LinkTable<L extends RefreshableLink> {
  /** Names locks, single-flight keys and log lines. */
  readonly kind: string;
  read(store: DataStore, userId: string, providerId: string): Promise<L | undefined>;
  save(
    store: DataStore,
    userId: string,
    providerId: string,
    oldRefreshToken: string,
    tokens: LinkTokens,
  ): Promise<boolean>;
  fail(
    store: DataStore,
    userId: string,
    providerId: string,
    oldRefreshToken: string,
    reason: string,
  ): Promise<boolean>;
}

export const EXTERNAL_AUTH_LINKS: LinkTable<ExternalAuthLink> = {
  kind: 'external-auth',
  read: (store, userId, providerId) => store.getExternalAuthLink({ userId, providerId }),
  save: (store, userId, providerId, oldRefreshToken, tokens) =>
    store.updateExternalAuthLinkRefreshToken({ userId, providerId, oldRefreshToken, tokens }),
  fail: (store, userId, providerId, oldRefreshToken, reason) =>
    store.updateExternalAuthLinkRefreshFailure({ userId, providerId, oldRefreshToken, reason }),
};

/** A user has one OIDC login link; the provider id only names it. */
export const OIDC_LINKS: LinkTable<OidcLink> = {
  kind: 'oidc-login',
  read: (store, userId) => store.getOidcLinkByUser({ userId }),
  save: (store, userId, _providerId, oldRefreshToken, tokens) =>
    store.updateOidcLinkRefreshToken({ userId, oldRefreshToken, tokens }),
  fail: (store, userId, _providerId, oldRefreshToken, reason) =>
    store.updateOidcLinkRefreshFailure({ userId, oldRefreshToken, reason }),
};
