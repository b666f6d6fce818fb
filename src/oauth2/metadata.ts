import { PROMPT_VALUES } from './authorize.ts';
import { REGISTRABLE_GRANT_TYPES } from './client-metadata.ts';
import { scopesSupported } from './scopes-supported.ts';
import { PKCE_METHODS, RESPONSE_TYPES, TOKEN_ENDPOINT_AUTH_METHODS } from './types.ts';

// OA-1: the discovery documents. Everything is computed from the configured access URL,
// never from the request (Host and X-Forwarded-Host are the client's to choose): the
// issuer must be byte-identical wherever it appears, or SDK clients refuse it (RFC 8414
// §3.3), and a spoofed header must not move the endpoints somewhere else.

/** Where the authorization server's endpoints live, under the access URL. */
export function oauthEndpoints(accessUrl: string) {
  return {
    issuer: accessUrl,
    authorization_endpoint: `${accessUrl}/oauth2/authorize`,
    token_endpoint: `${accessUrl}/oauth2/token`,
    registration_endpoint: `${accessUrl}/oauth2/register`,
    revocation_endpoint: `${accessUrl}/oauth2/revoke`,
    introspection_endpoint: `${accessUrl}/oauth2/introspect`,
    jwks_uri: `${accessUrl}/.well-known/jwks.json`,
  };
}

/** The URL of the protected-resource metadata for the API, as 401 challenges name it. */
export function resourceMetadataUrl(accessUrl: string): string {
  return `${accessUrl}/.well-known/oauth-protected-resource`;
}

/**
 * RFC 8414 authorization server metadata. Served unchanged as the OpenID configuration
 * too (clients compare the two), so it carries the fields OpenID parsers require
 * (subject_types_supported, id_token_signing_alg_values_supported) as well.
 */
export function authorizationServerMetadata(accessUrl: string): Record<string, unknown> {
  return {
    ...oauthEndpoints(accessUrl),
    response_types_supported: [...RESPONSE_TYPES],
    response_modes_supported: ['query'],
    grant_types_supported: [...REGISTRABLE_GRANT_TYPES],
    code_challenge_methods_supported: [...PKCE_METHODS],
    token_endpoint_auth_methods_supported: [...TOKEN_ENDPOINT_AUTH_METHODS],
    // A public client revokes its own tokens with just its client_id (RFC 7009 §2.1).
    revocation_endpoint_auth_methods_supported: [...TOKEN_ENDPOINT_AUTH_METHODS],
    // Introspection is for authenticated resource servers only (RFC 7662 §2.1).
    introspection_endpoint_auth_methods_supported: TOKEN_ENDPOINT_AUTH_METHODS.filter((m) => m !== 'none'),
    scopes_supported: scopesSupported(),
    client_id_metadata_document_supported: true,
    authorization_response_iss_parameter_supported: true,
    // OpenID Connect's prompt values, which OAuth clients send too (see authorize.ts).
    prompt_values_supported: [...PROMPT_VALUES],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['ES256'],
  };
}

/** RFC 9728 protected-resource metadata for `resource` (the API, or the MCP endpoint). */
export function protectedResourceMetadata(accessUrl: string, resource: string): Record<string, unknown> {
  return {
    resource,
    authorization_servers: [accessUrl],
    bearer_methods_supported: ['header'],
    scopes_supported: scopesSupported(),
    resource_name: 'Latchkey',
  };
}

/** Resources with their own protected-resource metadata, by path under the access URL. */
export const PROTECTED_PATHS = ['', '/mcp'] as const;

const AS_DOCUMENTS = ['oauth-authorization-server', 'openid-configuration'] as const;

/**
 * The well-known document a request path names, or undefined (the caller answers 404).
 * With an access URL that has a path (`https://example.com/auth`, behind a proxy), every
 * form a client may derive is served, whether or not the proxy strips the prefix:
 * RFC 8414 §3.1 / RFC 9728 §3.1 insert the well-known segment before the path
 * (`/.well-known/oauth-authorization-server/auth`), OpenID Discovery appends it
 * (`/auth/.well-known/openid-configuration`). All of them carry the same issuer.
 */
export function wellKnownDocument(
  accessUrl: string,
  requestPath: string,
): Record<string, unknown> | undefined {
  const prefix = new URL(accessUrl).pathname.replace(/\/$/, '');
  // Appended form (or a proxy that passes the prefix through): drop the prefix first.
  const path =
    prefix !== '' && requestPath.startsWith(`${prefix}/.well-known/`)
      ? requestPath.slice(prefix.length)
      : requestPath;
  for (const name of AS_DOCUMENTS) {
    const base = `/.well-known/${name}`;
    if (path === base || (prefix !== '' && path === `${base}${prefix}`)) {
      return authorizationServerMetadata(accessUrl);
    }
  }
  const base = '/.well-known/oauth-protected-resource';
  for (const resourcePath of PROTECTED_PATHS) {
    const forms = [`${base}${resourcePath}`];
    if (prefix !== '') forms.push(`${base}${prefix}${resourcePath}`);
    if (forms.includes(path)) return protectedResourceMetadata(accessUrl, `${accessUrl}${resourcePath}`);
  }
  return undefined;
}
