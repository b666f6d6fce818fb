import { authenticateClient, type ClientAuthDeps } from './client-auth.ts';
import { accessTokenKey, grantStore, hashToken, REFRESH_TOKEN_PREFIX } from './grants/tokens.ts';
import type { JwtAccessTokens } from './jwt-access-tokens.ts';
import type { OAuthParams } from './params.ts';

// Token revocation (RFC 7009). The client authenticates as it does at the token endpoint
// (public clients may revoke their own tokens). The answer is 200 whatever the token was:
// unknown, already revoked, or another client's (which is left alone: telling the caller
// would confirm it exists). Revoking a refresh token revokes its whole family and the
// access tokens issued from it; revoking an access token deletes that API key, which every
// replica hears of at once (the key cache listens for deletions).

export interface RevocationDeps extends ClientAuthDeps {
  /** A JWT access token is revoked by deleting the key it encodes. */
  readonly jwt?: JwtAccessTokens | undefined;
}

export async function revokeToken(
  deps: RevocationDeps,
  params: OAuthParams,
  authorization: string | undefined,
): Promise<void> {
  const app = await authenticateClient(deps, params, authorization);
  const token = params.required('token');
  // token_type_hint is only a hint (RFC 7009 §2.1): the token's own form says what it is.
  params.optional('token_type_hint');
  const store = grantStore(deps);
  if (token.startsWith(REFRESH_TOKEN_PREFIX)) {
    const row = await store.getOAuth2RefreshTokenByHash({ tokenHash: hashToken(token), graceSeconds: 0 });
    if (row && row.app_id === app.id && row.revoked_at === null) {
      await store.revokeOAuth2RefreshTokenFamily({ familyId: row.family_id });
    }
    return;
  }
  const named = await accessTokenKey(token, deps.jwt);
  if (!named) return;
  const key = await store.getApiKeyById({ id: named.id });
  if (key?.login_type === 'oauth2_app' && key.oauth2_app_id === app.id && named.matches(key.hashed_secret)) {
    await store.deleteApiKey({ id: key.id });
  }
}
