import type { OAuth2App, Store } from '../db/index.ts';
import { type ClientDeps, resolveClient } from './clients.ts';
import { OAuthError } from './errors.ts';
import { CODE_PREFIX, hashToken, newOpaqueToken } from './grants/tokens.ts';
import type { OAuthParams } from './params.ts';
import { isPkceText } from './pkce.ts';
import { isAcceptableResource, normaliseResource, ownResource } from './resource.ts';
import { negotiateScope } from './scopes.ts';
import type { OAuthErrorCode } from './types.ts';

// The authorization endpoint (RFC 6749 §4.1.1, OA-3), as a pipeline of checks. The order
// matters: client_id and redirect_uri are checked first, and a failure there is shown to
// the user, never redirected (a redirect to an unverified URI is an open redirector).
// Every later error goes back to the client's redirect URI with `error`, `state` and
// `iss` (RFC 9207).

/** Codes live at most this long (RFC 6749 §4.1.2 recommends 10 minutes at most). */
export const CODE_LIFETIME_SECONDS = 300;

/**
 * The `prompt` values honoured (OpenID Connect Core §3.1.2.1, which OAuth clients use
 * too), published as prompt_values_supported: `none` answers without showing any page,
 * `login` makes the user sign in again, `consent` shows the consent page even when the
 * user already allowed as much. Anything else (`select_account`, `create`) is refused
 * rather than ignored: a client that asked for it would otherwise believe it happened.
 */
export const PROMPT_VALUES = ['none', 'login', 'consent'] as const;
export type Prompt = (typeof PROMPT_VALUES)[number];

/**
 * Why a request is answered with an error after the redirect URI is trusted and no code
 * is issued: the user said no, or `prompt=none` forbade asking the user anything
 * (OpenID Connect Core §3.1.2.6); all three are in OAUTH_ERROR_CODES (types.ts).
 */
export const REFUSALS = {
  access_denied: 'The user denied access.',
  login_required: 'The user is not signed in, and prompt=none forbids asking them to.',
  consent_required: 'The user has not allowed this app this access, and prompt=none forbids asking.',
} as const satisfies Partial<Record<OAuthErrorCode, string>>;
export type Refusal = keyof typeof REFUSALS;

/** A validated authorization request. */
export interface AuthorizationRequest {
  readonly app: OAuth2App;
  readonly clientId: string;
  /** Where the response goes: the presented redirect_uri, or the client's only one. */
  readonly redirectUri: string;
  /** The redirect_uri as sent ('' when omitted); the token request must repeat it. */
  readonly redirectUriParam: string;
  readonly state: string | undefined;
  readonly codeChallenge: string;
  /** The normalised resource (RFC 8707); this server's access URL when none was sent. */
  readonly resource: string;
  /** The negotiated scope (what the consent page lists and the token gets). */
  readonly scope: string;
  /** The `prompt` values asked for; empty when none were. */
  readonly prompt: ReadonlySet<Prompt>;
}

export type AuthorizationCheck =
  | { readonly kind: 'valid'; readonly request: AuthorizationRequest }
  /** Shown to the user: the client or its redirect URI could not be trusted. */
  | { readonly kind: 'page'; readonly message: string }
  /** Sent back to the client's (verified) redirect URI. */
  | { readonly kind: 'redirect'; readonly location: string };

export interface AuthorizeDeps {
  readonly clients: ClientDeps;
  /** The issuer (`iss`, RFC 9207) and this server's own resource. */
  readonly accessUrl: string;
}

const LOOPBACK = /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost)(?::(\d{1,5}))?([/?].*)?$/;

/** A loopback redirect URI without its port, or undefined for any other URI. */
function withoutPort(uri: string): string | undefined {
  const m = LOOPBACK.exec(uri);
  if (!m || Number(m[2] ?? 0) > 65535) return undefined;
  return `http://${m[1]}${m[3] ?? ''}`;
}

/**
 * The registered redirect URI `presented` matches: byte for byte, except that for a
 * loopback URI (http on 127.0.0.1, [::1] or localhost) only the port may differ, as native
 * apps listen on whatever port is free (RFC 8252 §7.3). `localhost` and `127.0.0.1` are
 * different hosts. Nothing is decoded or normalised first, so an encoded or userinfo
 * trick cannot make two different URIs compare equal.
 */
export function matchRedirectUri(registered: readonly string[], presented: string): boolean {
  if (presented.includes('#')) return false;
  if (registered.includes(presented)) return true;
  const bare = withoutPort(presented);
  return bare !== undefined && registered.some((r) => withoutPort(r) === bare);
}

/** The client's redirect URI with response parameters added, `iss` always among them. */
export function redirectWith(
  redirectUri: string,
  issuer: string,
  values: Readonly<Record<string, string | undefined>>,
): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(values))
    if (value !== undefined) url.searchParams.append(name, value);
  url.searchParams.append('iss', issuer);
  return url.href;
}

/** An error response for the client (RFC 6749 §4.1.2.1), with state and iss. */
export function errorRedirect(
  redirectUri: string,
  issuer: string,
  error: { readonly code: string; readonly description: string | undefined },
  state: string | undefined,
): string {
  return redirectWith(redirectUri, issuer, {
    error: error.code,
    error_description: error.description,
    state,
  });
}

/** Validates an authorization request (from the query, or re-posted by the consent form). */
export async function checkAuthorization(
  deps: AuthorizeDeps,
  params: OAuthParams,
): Promise<AuthorizationCheck> {
  if (params.repeated('client_id') || params.repeated('redirect_uri')) {
    return { kind: 'page', message: 'The request names its client or redirect URI more than once.' };
  }
  const clientId = params.optional('client_id');
  if (clientId === undefined)
    return { kind: 'page', message: 'The request does not say which app is asking (client_id).' };
  const app = await resolveClient(deps.clients, clientId);
  if (!app) return { kind: 'page', message: 'The app asking for access is not known to Latchkey.' };
  const redirectUriParam = params.optional('redirect_uri');
  let redirectUri: string;
  if (redirectUriParam === undefined) {
    // OAuth 2.1 §4.1.1: optional only when the client registered exactly one.
    if (app.redirect_uris.length !== 1) {
      return { kind: 'page', message: 'The request does not say where to send the answer (redirect_uri).' };
    }
    redirectUri = app.redirect_uris[0] as string;
  } else if (matchRedirectUri(app.redirect_uris, redirectUriParam)) {
    redirectUri = redirectUriParam;
  } else {
    return { kind: 'page', message: 'The redirect URI is not one this app registered.' };
  }

  // From here on the redirect URI is trusted: errors go back to the client (with the
  // state, unless the state itself is what is wrong).
  let state: string | undefined;
  try {
    state = params.optional('state');
  } catch (err) {
    return {
      kind: 'redirect',
      location: errorRedirect(redirectUri, deps.accessUrl, err as OAuthError, undefined),
    };
  }
  const fail = (error: OAuthError): AuthorizationCheck => ({
    kind: 'redirect',
    location: errorRedirect(redirectUri, deps.accessUrl, error, state),
  });
  try {
    const responseType = params.optional('response_type');
    if (responseType === undefined) throw new OAuthError('invalid_request', 'response_type is required');
    if (responseType !== 'code') {
      throw new OAuthError('unsupported_response_type', 'Only response_type=code is supported.');
    }
    if (!app.response_types.includes('code') || !app.grant_types.includes('authorization_code')) {
      throw new OAuthError('unauthorized_client', 'This client may not use the authorization code flow.');
    }
    const challenge = params.optional('code_challenge');
    if (challenge === undefined)
      throw new OAuthError('invalid_request', 'code_challenge is required (PKCE).');
    // RFC 7636 §4.3: without a method the challenge would be `plain`, which is refused.
    if (params.optional('code_challenge_method') !== 'S256') {
      throw new OAuthError('invalid_request', 'code_challenge_method must be S256.');
    }
    if (!isPkceText(challenge)) {
      throw new OAuthError(
        'invalid_request',
        'code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~',
      );
    }
    const resourceParam = params.optional('resource', 'invalid_target');
    let resource = ownResource(deps.accessUrl);
    if (resourceParam !== undefined) {
      const normal = normaliseResource(resourceParam);
      if (normal === undefined || !isAcceptableResource(normal, deps.accessUrl)) {
        throw new OAuthError('invalid_target', 'resource is not a resource this server issues tokens for.');
      }
      resource = normal;
    }
    const negotiated = negotiateScope(params.optional('scope'), app.scope);
    if (!negotiated.ok) throw negotiated.error;
    const prompt = parsePrompt(params.optional('prompt'));
    return {
      kind: 'valid',
      request: {
        app,
        clientId,
        redirectUri,
        redirectUriParam: redirectUriParam ?? '',
        state,
        codeChallenge: challenge,
        resource,
        scope: negotiated.scope,
        prompt,
      },
    };
  } catch (err) {
    if (err instanceof OAuthError) return fail(err);
    throw err;
  }
}

/**
 * The `prompt` parameter: space-separated values (OpenID Connect Core §3.1.2.1), each one
 * Latchkey honours, and `none` alone (it contradicts every other value).
 */
export function parsePrompt(value: string | undefined): ReadonlySet<Prompt> {
  const values = new Set(value?.split(' ').filter((v) => v !== ''));
  for (const v of values) {
    if (!(PROMPT_VALUES as readonly string[]).includes(v)) {
      // The value is not echoed: error_description is limited to a safe set of characters.
      throw new OAuthError(
        'invalid_request',
        'prompt has a value Latchkey does not support (only none, login and consent).',
      );
    }
  }
  if (values.has('none') && values.size > 1) {
    throw new OAuthError('invalid_request', 'prompt=none cannot be combined with other prompt values.');
  }
  return values as Set<Prompt>;
}

/**
 * Issues a code for `userId` and returns where to send the browser. The code is random,
 * stored as its SHA-256 with everything the token request must match, and short-lived.
 */
export async function issueCode(
  store: Store,
  issuer: string,
  request: AuthorizationRequest,
  userId: string,
): Promise<string> {
  const code = newOpaqueToken(CODE_PREFIX);
  await store.insertOAuth2Code({
    codeHash: hashToken(code),
    appId: request.app.id,
    userId,
    redirectUri: request.redirectUriParam === '' ? request.redirectUri : request.redirectUriParam,
    codeChallenge: request.codeChallenge,
    resource: request.resource,
    scope: request.scope,
    lifetimeSeconds: CODE_LIFETIME_SECONDS,
  });
  return redirectWith(request.redirectUri, issuer, { code, state: request.state });
}

/**
 * A request answered without a code, as a redirect to the client: the user clicked "Deny"
 * (`access_denied`), or `prompt=none` found that answering would need the user to sign in
 * (`login_required`) or to consent (`consent_required`).
 */
export function deniedRedirect(
  issuer: string,
  request: AuthorizationRequest,
  refusal: Refusal = 'access_denied',
): string {
  return errorRedirect(
    request.redirectUri,
    issuer,
    { code: refusal, description: REFUSALS[refusal] },
    request.state,
  );
}
