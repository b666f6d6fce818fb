import type { OAuth2App, OAuth2AppFields } from '../db/index.ts';
import { OAuthError } from './errors.ts';
import { supportedScopeNames } from './scopes-supported.ts';
import {
  APPLICATION_TYPES,
  type ApplicationType,
  TOKEN_ENDPOINT_AUTH_METHODS,
  type TokenEndpointAuthMethod,
} from './types.ts';

// Client metadata (RFC 7591 §2) as registrations, metadata documents and admins give it:
// checked once here, turned into the columns of oauth2_apps, and echoed back from them.
//
// Redirect URIs (RFC 8252, OAuth 2.1 §2.3.1, BCP RFC 9700 §4.1):
// - https: any host. This is the only kind a `web` application may register.
// - http: only on a loopback host (127.0.0.1, [::1], localhost), for native apps that
//   listen on a local port (RFC 8252 §7.3); any other http URI is refused.
// - a private-use scheme (RFC 8252 §7.1: `com.example.app:/callback`), for native apps.
//   Reverse-domain names are recommended, but single-word schemes (`cursor://…`) are
//   accepted because deployed clients use them; schemes a browser executes or that name
//   local resources (javascript:, data:, file:, …) are refused outright.
// - never a fragment, never user information, never a non-canonical host (`127.1`,
//   `0x7f.1`), never backslashes, spaces or control characters: a URI that two parsers
//   could read differently is how redirect checks are bypassed.
// `application_type` absent: native when any redirect URI needs it (loopback http or a
// private-use scheme), else web — not web by default, which would refuse most CLI and
// desktop MCP clients (they register loopback URIs and send no application_type).

/** Grant types a client may register; the rest of GRANT_TYPES this server does not offer. */
export const REGISTRABLE_GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
const REFUSED_SCHEMES = new Set([
  'javascript',
  'data',
  'vbscript',
  'file',
  'blob',
  'about',
  'filesystem',
  'view-source',
  'ws',
  'wss',
  'ftp',
  'mailto',
  'tel',
  'sms',
  'urn',
]);
const MAX_REDIRECT_URIS = 32;
const MAX_URI_LENGTH = 2000;
const MAX_NAME_LENGTH = 200;
/** Fields the server assigns: whatever a client sends for them is dropped, never stored. */
const SERVER_FIELDS = new Set([
  'client_id',
  'client_secret',
  'client_secret_expires_at',
  'client_id_issued_at',
  'registration_access_token',
  'registration_client_uri',
]);
/** Fields stored in their own columns (the rest go to `metadata`, as given). */
const COLUMN_FIELDS = new Set([
  'client_name',
  'redirect_uris',
  'grant_types',
  'response_types',
  'token_endpoint_auth_method',
  'application_type',
  'scope',
]);
/** Known fields holding a URL a consent page may show as a link. */
const URL_FIELDS = ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri', 'jwks_uri'] as const;

export type RedirectKind = 'https' | 'loopback' | 'private_use';

/** What kind of redirect URI this is, or why it is refused (an OAuthError to throw). */
export function classifyRedirectUri(raw: unknown): RedirectKind | OAuthError {
  const bad = (why: string) =>
    new OAuthError('invalid_redirect_uri', `redirect URI ${JSON.stringify(raw)} ${why}`);
  if (typeof raw !== 'string' || raw === '') return bad('is not a non-empty string');
  if (raw.length > MAX_URI_LENGTH) return bad(`is longer than ${MAX_URI_LENGTH} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  if (/[\s\\\u0000-\u001f\u007f]/.test(raw)) return bad('contains spaces, backslashes or control characters');
  if (raw.includes('#')) return bad('must not have a fragment');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return bad('is not an absolute URI');
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme === 'https' || scheme === 'http') {
    const authority = /^[a-z]+:\/\/([^/?]*)/i.exec(raw)?.[1] ?? '';
    if (authority.includes('@') || url.username !== '' || url.password !== '') {
      return bad('must not contain user information');
    }
    // The host as written must be the host as parsed: no numeric tricks, no default port.
    if (authority.toLowerCase() !== url.host) return bad(`must name its host canonically (${url.host})`);
    if (scheme === 'https') return 'https';
    if (LOOPBACK_HOSTS.has(url.hostname)) return 'loopback';
    return bad('uses http, which is allowed only for loopback hosts (127.0.0.1, [::1], localhost)');
  }
  if (REFUSED_SCHEMES.has(scheme)) return bad(`uses the ${scheme}: scheme, which is never allowed`);
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) return bad('has an invalid scheme');
  if (url.username !== '' || url.password !== '') return bad('must not contain user information');
  return 'private_use';
}

/** What the metadata describes, in the shape of oauth2_apps (see OAuth2AppFields). */
export type ClientMetadata = OAuth2AppFields;

export interface ParseOptions {
  /**
   * registration (RFC 7591 defaults: client_secret_basic), admin (the same), document
   * (a client ID metadata document: no shared secret is possible, so `none` by default and
   * nothing else accepted).
   */
  readonly source: 'registration' | 'admin' | 'document';
}

const invalid = (description: string) => new OAuthError('invalid_client_metadata', description);

function stringList(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw invalid(`${field} must be an array of strings`);
  }
  return [...new Set(value as string[])];
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`${field} must be a string`);
  return value;
}

/** Parses client metadata; throws OAuthError invalid_client_metadata / invalid_redirect_uri. */
export function parseClientMetadata(input: unknown, options: ParseOptions): ClientMetadata {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid('the request body must be a JSON object');
  }
  const body = input as Record<string, unknown>;
  // PostgreSQL text and jsonb cannot hold NUL: refused here as the client's mistake, not a 500.
  if (JSON.stringify(body).includes('\\u0000')) throw invalid('metadata must not contain NUL characters');

  const grantTypes = stringList(body.grant_types, 'grant_types') ?? ['authorization_code'];
  for (const g of grantTypes) {
    if (!(REGISTRABLE_GRANT_TYPES as readonly string[]).includes(g)) {
      throw invalid(`grant type "${g}" is not supported; use ${REGISTRABLE_GRANT_TYPES.join(', ')}`);
    }
  }
  if (grantTypes.length === 0) throw invalid('grant_types must not be empty');
  const usesCode = grantTypes.includes('authorization_code');

  const responseTypes = stringList(body.response_types, 'response_types') ?? ['code'];
  for (const r of responseTypes) {
    if (r !== 'code') throw invalid(`response type "${r}" is not supported; only "code" is`);
  }
  if (usesCode && !responseTypes.includes('code')) {
    throw invalid('grant type authorization_code needs response type "code"');
  }

  const authMethod = parseAuthMethod(body.token_endpoint_auth_method, options);
  if (authMethod === 'none' && grantTypes.includes('client_credentials')) {
    throw invalid('client_credentials needs a confidential client (not token_endpoint_auth_method none)');
  }

  const redirectUris = stringList(body.redirect_uris, 'redirect_uris') ?? [];
  if (usesCode && redirectUris.length === 0) {
    throw new OAuthError(
      'invalid_redirect_uri',
      'redirect_uris is required for the authorization_code grant',
    );
  }
  if (redirectUris.length > MAX_REDIRECT_URIS) throw invalid(`at most ${MAX_REDIRECT_URIS} redirect_uris`);
  const kinds = redirectUris.map((uri) => {
    const kind = classifyRedirectUri(uri);
    if (kind instanceof OAuthError) throw kind;
    return kind;
  });
  const applicationType = parseApplicationType(body.application_type, kinds);
  if (applicationType === 'web') {
    const i = kinds.findIndex((k) => k !== 'https');
    if (i >= 0) {
      throw new OAuthError(
        'invalid_redirect_uri',
        `redirect URI "${redirectUris[i]}" is allowed only for native applications (application_type "native")`,
      );
    }
  }

  const name = optionalString(body.client_name, 'client_name') ?? '';
  if (name.length > MAX_NAME_LENGTH)
    throw invalid(`client_name is longer than ${MAX_NAME_LENGTH} characters`);

  for (const field of URL_FIELDS) {
    const value = optionalString(body[field], field);
    if (value !== undefined && !isWebUrl(value)) throw invalid(`${field} must be an http or https URL`);
  }
  if (body.contacts !== undefined) stringList(body.contacts, 'contacts');

  const metadata: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    // Unset stays unset: a null or "" is not a value to echo back (clients choke on them).
    if (SERVER_FIELDS.has(key) || COLUMN_FIELDS.has(key) || value === null || value === '') continue;
    metadata[key] = value;
  }

  return {
    name,
    applicationType,
    tokenEndpointAuthMethod: authMethod,
    redirectUris,
    grantTypes,
    responseTypes,
    scope: parseScope(body.scope),
    metadata,
  };
}

function parseAuthMethod(value: unknown, options: ParseOptions): TokenEndpointAuthMethod {
  const document = options.source === 'document';
  if (value === undefined) return document ? 'none' : 'client_secret_basic';
  if (typeof value !== 'string' || !(TOKEN_ENDPOINT_AUTH_METHODS as readonly string[]).includes(value)) {
    throw invalid(
      `token_endpoint_auth_method ${JSON.stringify(value)} is not supported; use ${TOKEN_ENDPOINT_AUTH_METHODS.join(', ')}`,
    );
  }
  if (document && value !== 'none') {
    throw invalid(
      'a client ID metadata document cannot hold a shared secret: token_endpoint_auth_method must be none',
    );
  }
  return value as TokenEndpointAuthMethod;
}

function parseApplicationType(value: unknown, kinds: readonly RedirectKind[]): ApplicationType {
  if (value === undefined) return kinds.some((k) => k !== 'https') ? 'native' : 'web';
  if (typeof value !== 'string' || !(APPLICATION_TYPES as readonly string[]).includes(value)) {
    throw invalid(`application_type must be one of ${APPLICATION_TYPES.join(', ')}`);
  }
  return value as ApplicationType;
}

/** The registered scope ceiling, space separated; each name must be in the published catalog. */
export function parseScope(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') throw invalid('scope must be a space-separated string');
  const names = [...new Set(value.split(' ').filter((s) => s !== ''))];
  const known = supportedScopeNames();
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw invalid(
      `unknown scope ${unknown.map((n) => `"${n}"`).join(', ')}; see scopes_supported in the metadata`,
    );
  }
  return names.join(' ');
}

function isWebUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * The client's registered metadata as RFC 7591 §3.2.1 echoes it: every field it set,
 * defaults filled in, nothing unset (no null, no "").
 */
export function clientMetadataJson(app: OAuth2App): Record<string, unknown> {
  return {
    ...app.metadata,
    ...(app.name === '' ? {} : { client_name: app.name }),
    ...(app.redirect_uris.length === 0 ? {} : { redirect_uris: app.redirect_uris }),
    grant_types: app.grant_types,
    response_types: app.response_types,
    token_endpoint_auth_method: app.token_endpoint_auth_method,
    application_type: app.application_type,
    ...(app.scope === '' ? {} : { scope: app.scope }),
  };
}
