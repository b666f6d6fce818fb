import { randomUUID } from 'node:crypto';
import { generateKey } from '../../apikeys/index.ts';
import type { OAuth2App, OAuth2CodeState, Store } from '../../db/index.ts';
import { OAuthError } from '../errors.ts';
import type { OAuthParams } from '../params.ts';
import { isPkceText, s256, verifyPkce } from '../pkce.ts';
import { normaliseResource } from '../resource.ts';
import {
  accessKeyArgs,
  accessTokenText,
  type GrantDeps,
  grantKeyArgs,
  grantStore,
  hashToken,
  issuedNow,
  mayRefresh,
  newOpaqueToken,
  REFRESH_TOKEN_PREFIX,
  refreshLifetimeSeconds,
  type TokenResponse,
  tokenResponse,
} from './tokens.ts';

// The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 8707 §2.2). The order
// of the checks is the point: the client and the PKCE verifier come first, so a replay by
// someone without the verifier is refused without consequence; a replay WITH the verifier
// (the code and verifier both leaked, or a client bug) revokes everything the first
// redemption issued (RFC 6749 §4.1.2). Redemption itself is one statement.

const invalidGrant = (description: string) => new OAuthError('invalid_grant', description);

/** RFC 6749 §4.1.3: the redirect_uri of the authorization, if it was sent, must be sent again, identically. */
function checkRedirectUri(code: OAuth2CodeState, app: OAuth2App, presented: string | undefined): void {
  if (presented !== undefined) {
    if (presented !== code.redirect_uri)
      throw invalidGrant('redirect_uri differs from the authorization request.');
    return;
  }
  // Omitted: only when the authorization could have omitted it too (one registered URI).
  const sole = app.redirect_uris.length === 1 ? app.redirect_uris[0] : undefined;
  if (sole !== code.redirect_uri)
    throw invalidGrant('redirect_uri is required and must match the authorization request.');
}

/** The one-statement exchange: the answer, or undefined when the code was not redeemed. */
async function redeemByHash(
  deps: GrantDeps,
  app: OAuth2App,
  store: Store,
  p: { code: string; verifier: string; redirectUri: string | undefined; resourceParam: string | undefined },
): Promise<TokenResponse | undefined> {
  // Omitted, the redirect URI must be the client's only one (as checkRedirectUri says).
  const redirectUri = p.redirectUri ?? (app.redirect_uris.length === 1 ? app.redirect_uris[0] : undefined);
  const resource = p.resourceParam === undefined ? undefined : normaliseResource(p.resourceParam);
  if (redirectUri === undefined || (p.resourceParam !== undefined && resource === undefined))
    return undefined;
  const key = generateKey();
  const access = grantKeyArgs(app, key, deps.settings);
  const refreshToken = mayRefresh(app) ? newOpaqueToken(REFRESH_TOKEN_PREFIX) : undefined;
  const issued = await store.redeemOAuth2CodeByHash({
    codeHash: hashToken(p.code),
    appId: app.id,
    // Compared by the database, not in constant time: the challenge is public (it was in
    // the authorization URL); what the timing could reveal is how much of SHA-256 of a
    // guessed verifier matches it, which brings no guess closer.
    codeChallenge: s256(p.verifier),
    redirectUri,
    resource,
    accessKey: access,
    refresh: refreshToken
      ? {
          id: randomUUID(),
          tokenHash: hashToken(refreshToken),
          lifetimeSeconds: refreshLifetimeSeconds(deps.settings),
        }
      : undefined,
  });
  if (!issued) return undefined;
  return tokenResponse({
    accessToken: key.token,
    expiresIn: access.lifetimeSeconds,
    keyScopes: issued.keyScopes,
    grantScope: issued.scope,
    refreshToken,
  });
}

export async function authorizationCodeGrant(
  deps: GrantDeps,
  app: OAuth2App,
  params: OAuthParams,
): Promise<TokenResponse> {
  const code = params.required('code');
  const verifier = params.optional('code_verifier');
  if (verifier === undefined) throw new OAuthError('invalid_request', 'code_verifier is required (PKCE).');
  if (!isPkceText(verifier)) {
    throw new OAuthError(
      'invalid_request',
      'code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~',
    );
  }
  const redirectUri = params.optional('redirect_uri');
  const resourceParam = params.optional('resource', 'invalid_target');
  const store = grantStore(deps);
  // The usual exchange (opaque tokens) is one statement, its checks in the WHERE clause;
  // a code it does not redeem is looked at below as if it had not been tried, so a replay
  // is still recognised (and revokes), a wrong verifier still revokes nothing.
  if (!deps.jwt?.mayWant(app)) {
    const done = await redeemByHash(deps, app, store, { code, verifier, redirectUri, resourceParam });
    if (done) return done;
  }

  const row = await store.getOAuth2CodeByHash({ codeHash: hashToken(code) });
  if (!row) throw invalidGrant('The code is not valid.');
  // A code used by another client is refused like an unknown one (RFC 6749 §4.1.3).
  if (row.app_id !== app.id) throw invalidGrant('The code is not valid.');
  if (!verifyPkce(verifier, row.code_challenge))
    throw invalidGrant('code_verifier does not match the code_challenge.');
  checkRedirectUri(row, app, redirectUri);
  if (row.redeemed_at !== null) {
    await store.revokeOAuth2CodeGrant({ codeId: row.id });
    throw invalidGrant('The code was already used; the tokens issued for it are revoked.');
  }
  if (row.expired) throw invalidGrant('The code has expired.');
  // RFC 8707 §2.2: a resource sent again must be the one the grant was for.
  if (resourceParam !== undefined && normaliseResource(resourceParam) !== row.resource) {
    throw new OAuthError('invalid_target', 'resource differs from the one authorized.');
  }
  const resource = row.resource;

  const key = generateKey();
  const refreshToken = mayRefresh(app) ? newOpaqueToken(REFRESH_TOKEN_PREFIX) : undefined;
  const access = accessKeyArgs(app, key, row.scope, resource, deps.settings);
  const accessToken = await accessTokenText(deps, app, issuedNow(key, row.user_id, access));
  const redeemed = await store.redeemOAuth2Code({
    codeId: row.id,
    userId: row.user_id,
    appId: app.id,
    accessKey: access,
    refresh: refreshToken
      ? {
          id: randomUUID(),
          tokenHash: hashToken(refreshToken),
          resource,
          scope: row.scope,
          lifetimeSeconds: refreshLifetimeSeconds(deps.settings),
        }
      : undefined,
  });
  if (!redeemed) {
    // Another redemption won the race (or the code expired this instant): this one is a
    // replay, and what the winner got is revoked (nothing, if it expired).
    await store.revokeOAuth2CodeGrant({ codeId: row.id });
    throw invalidGrant('The code was already used; the tokens issued for it are revoked.');
  }
  return tokenResponse({
    accessToken,
    expiresIn: access.lifetimeSeconds,
    keyScopes: access.scopes,
    grantScope: row.scope,
    refreshToken,
  });
}
