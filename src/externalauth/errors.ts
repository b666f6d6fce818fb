// Why a caller did not get a token, as values the HTTP layer maps to statuses and that
// agents (git-credential, the SDK) can act on: link, re-link, or retry later.

export const VAULT_ERROR_CODES = [
  'provider_not_found',
  'not_linked',
  'relink_required',
  'upstream_unavailable',
  'upstream_error',
] as const;
export type VaultErrorCode = (typeof VAULT_ERROR_CODES)[number];

export class VaultError extends Error {
  readonly code: VaultErrorCode;
  /** For relink_required: the recorded refresh failure (bad_refresh_token, …) or why the token is unusable. */
  readonly reason: string;
  readonly providerId: string;
  constructor(code: VaultErrorCode, providerId: string, message: string, reason = '') {
    super(message);
    this.name = 'VaultError';
    this.code = code;
    this.providerId = providerId;
    this.reason = reason;
  }
}

export const vaultErrors = {
  providerNotFound: (id: string) =>
    new VaultError('provider_not_found', id, `No external-auth provider "${id}".`),
  notLinked: (id: string) => new VaultError('not_linked', id, `Your account is not linked with "${id}".`),
  relinkRequired: (id: string, reason: string) =>
    new VaultError('relink_required', id, `The link with "${id}" no longer works; link it again.`, reason),
  upstreamUnavailable: (id: string, reason: string) =>
    new VaultError(
      'upstream_unavailable',
      id,
      `"${id}" did not answer a token refresh; nothing was lost, try again shortly.`,
      reason,
    ),
  upstreamError: (id: string, reason: string) =>
    new VaultError(
      'upstream_error',
      id,
      `"${id}" answered the token refresh with something unusable; your link was left as it was.`,
      reason,
    ),
};
