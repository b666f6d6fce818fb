import type { ExternalAuthLink } from '../db/index.ts';

/**
 * How long before expiry a token is refreshed: the configured lead, but at most half the
 * token's lifetime, so a provider issuing 5-minute tokens is not refreshed on every call.
 */
export function refreshLeadMs(
  link: Pick<ExternalAuthLink, 'oauth_expiry' | 'oauth_token_issued_at'>,
  aheadMs: number,
): number {
  if (link.oauth_expiry === null) return 0;
  const lifetime = link.oauth_expiry.getTime() - link.oauth_token_issued_at.getTime();
  return Math.max(0, Math.min(aheadMs, lifetime / 2));
}

/** The access token can be handed out as is: present, and not within its refresh lead. */
export function isFresh(
  link: Pick<ExternalAuthLink, 'oauth_access_token' | 'oauth_expiry' | 'oauth_token_issued_at'>,
  now: Date,
  aheadMs: number,
): boolean {
  if (link.oauth_access_token === '') return false;
  if (link.oauth_expiry === null) return true;
  return link.oauth_expiry.getTime() - refreshLeadMs(link, aheadMs) > now.getTime();
}

/** Not expired yet (it may be inside its refresh lead): still worth returning if a refresh fails. */
export function isUnexpired(
  link: Pick<ExternalAuthLink, 'oauth_access_token' | 'oauth_expiry'>,
  now: Date,
): boolean {
  return link.oauth_access_token !== '' && (link.oauth_expiry === null || link.oauth_expiry > now);
}
