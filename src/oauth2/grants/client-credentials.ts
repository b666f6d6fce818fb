import { generateKey } from '../../apikeys/index.ts';
import type { OAuth2App } from '../../db/index.ts';
import { OAuthError } from '../errors.ts';
import type { OAuthParams } from '../params.ts';
import { isAcceptableResource, normaliseResource, ownResource } from '../resource.ts';
import { negotiateScope } from '../scopes.ts';
import {
  accessKeyArgs,
  accessTokenText,
  type GrantDeps,
  grantStore,
  issuedNow,
  type TokenResponse,
  tokenResponse,
} from './tokens.ts';

// The client_credentials grant (RFC 6749 §4.4), for confidential clients only (the token
// endpoint refuses public ones before this runs).
//
// Whose token is it? An access token in Latchkey is an API key, and an API key belongs to
// a user: its permissions are that user's roles ∩ the token's scope. A client acting for
// itself acts for the person who created it — an admin-created app (created_by) gets
// tokens of its creator, limited to the scope negotiated against the app's ceiling, so the
// app can never do more than its creator may, and stops working when the creator is
// suspended or deleted (validation checks the user on every request). Apps nobody created
// (dynamic registration, metadata documents) have no one to act for and are refused with
// unauthorized_client. No refresh token is issued (RFC 6749 §4.4.3): the client asks again.

export async function clientCredentialsGrant(
  deps: GrantDeps,
  app: OAuth2App,
  params: OAuthParams,
): Promise<TokenResponse> {
  if (app.created_by === null) {
    throw new OAuthError('unauthorized_client', 'Only apps created by a user may use client_credentials.');
  }
  const negotiated = negotiateScope(params.optional('scope'), app.scope);
  if (!negotiated.ok) throw negotiated.error;
  const resourceParam = params.optional('resource', 'invalid_target');
  let audience = ownResource(deps.settings.accessUrl);
  if (resourceParam !== undefined) {
    const normal = normaliseResource(resourceParam);
    if (normal === undefined || !isAcceptableResource(normal, deps.settings.accessUrl)) {
      throw new OAuthError('invalid_target', 'resource is not a resource this server issues tokens for.');
    }
    audience = normal;
  }
  const key = generateKey();
  const access = accessKeyArgs(app, key, negotiated.scope, audience, deps.settings);
  const accessToken = await accessTokenText(deps, app, issuedNow(key, app.created_by, access));
  await grantStore(deps).insertOAuth2AccessToken({
    userId: app.created_by,
    appId: app.id,
    accessKey: access,
  });
  return tokenResponse({
    accessToken,
    expiresIn: access.lifetimeSeconds,
    keyScopes: access.scopes,
    grantScope: negotiated.scope,
  });
}
