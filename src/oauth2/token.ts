import { authenticateClient } from './client-auth.ts';
import { OAuthError } from './errors.ts';
import { authorizationCodeGrant } from './grants/authorization-code.ts';
import { clientCredentialsGrant } from './grants/client-credentials.ts';
import { refreshTokenGrant } from './grants/refresh-token.ts';
import type { GrantDeps, TokenResponse } from './grants/tokens.ts';
import type { OAuthParams } from './params.ts';
import type { GrantType } from './types.ts';

// The token endpoint (RFC 6749 §3.2, OA-4) as a pipeline: grant type, client
// authentication, the client's right to the grant, then the grant itself
// (src/oauth2/grants/). Access tokens are API keys of login type oauth2_app, limited to
// the negotiated scope and bound to an audience; refresh tokens and codes are random
// strings stored as SHA-256.

/** The grants this endpoint serves (the device grant is for upstream providers, not here). */
const SUPPORTED = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
] as const satisfies readonly GrantType[];

/** Handles one token request; throws OAuthError for every refusal. */
export async function handleTokenRequest(
  deps: GrantDeps,
  params: OAuthParams,
  authorization: string | undefined,
): Promise<TokenResponse> {
  const grantType = params.required('grant_type');
  if (!(SUPPORTED as readonly string[]).includes(grantType)) {
    throw new OAuthError('unsupported_grant_type', `grant_type "${grantType}" is not supported`);
  }
  const app = await authenticateClient(deps, params, authorization, {
    confidential: grantType === 'client_credentials',
  });
  if (!app.grant_types.includes(grantType)) {
    throw new OAuthError('unauthorized_client', `This client may not use the ${grantType} grant.`);
  }
  switch (grantType as (typeof SUPPORTED)[number]) {
    case 'authorization_code':
      return authorizationCodeGrant(deps, app, params);
    case 'refresh_token':
      return refreshTokenGrant(deps, app, params);
    case 'client_credentials':
      return clientCredentialsGrant(deps, app, params);
  }
}
