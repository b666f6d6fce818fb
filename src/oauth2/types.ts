import { z } from 'zod';

// OA-8: every closed set of the OAuth protocol surface, once, as `as const` lists with a
// derived type and a zod schema. The server validates with these and the SDK imports
// them, so both always agree on the spelling of a grant type or an error code.

const schemaOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values);

export const GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
] as const;
export type GrantType = (typeof GRANT_TYPES)[number];
export const grantTypeSchema = schemaOf(GRANT_TYPES);

/** Only the authorization code flow (OAuth 2.1 drops the implicit grant). */
export const RESPONSE_TYPES = ['code'] as const;
export type ResponseType = (typeof RESPONSE_TYPES)[number];
export const responseTypeSchema = schemaOf(RESPONSE_TYPES);

export const TOKEN_ENDPOINT_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];
export const tokenEndpointAuthMethodSchema = schemaOf(TOKEN_ENDPOINT_AUTH_METHODS);

/** S256 only: `plain` offers no protection against a stolen code. */
export const PKCE_METHODS = ['S256'] as const;
export type PkceMethod = (typeof PKCE_METHODS)[number];
export const pkceMethodSchema = schemaOf(PKCE_METHODS);

export const TOKEN_TYPES = ['Bearer'] as const;
export type TokenType = (typeof TOKEN_TYPES)[number];

export const TOKEN_TYPE_HINTS = ['access_token', 'refresh_token'] as const;
export type TokenTypeHint = (typeof TOKEN_TYPE_HINTS)[number];
export const tokenTypeHintSchema = schemaOf(TOKEN_TYPE_HINTS);

export const APPLICATION_TYPES = ['web', 'native'] as const;
export type ApplicationType = (typeof APPLICATION_TYPES)[number];

/** RFC 6749 §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2, RFC 8707 §2, RFC 8628 §3.5. */
export const OAUTH_ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'unsupported_response_type',
  'invalid_scope',
  'access_denied',
  'server_error',
  'temporarily_unavailable',
  'invalid_token',
  'insufficient_scope',
  'invalid_redirect_uri',
  'invalid_client_metadata',
  'invalid_target',
  'authorization_pending',
  'slow_down',
  'expired_token',
  // OpenID Connect Core §3.1.2.6: prompt=none could not be honoured.
  'login_required',
  'consent_required',
] as const;
export type OAuthErrorCode = (typeof OAUTH_ERROR_CODES)[number];
export const oauthErrorCodeSchema = schemaOf(OAUTH_ERROR_CODES);
