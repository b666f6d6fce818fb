import { hash, randomBytes } from 'node:crypto';
import { type NewKey, parseKey, secretMatches } from '../../apikeys/index.ts';
import { systemActors } from '../../authz/index.ts';
import type { OAuth2AccessKeyArgs, OAuth2App, OAuth2GrantKeyArgs, Store } from '../../db/index.ts';
import type { ClientDeps } from '../clients.ts';
import type { JwtAccessTokens } from '../jwt-access-tokens.ts';
import { apiScopes, FULL_ACCESS, isUnrestricted, OFFLINE_ACCESS, scopeNames } from '../scopes.ts';

// What every grant shares: settings, the token response, how tokens are made and stored.

export interface OAuth2Settings {
  /** The issuer and this server's own audience. */
  readonly accessUrl: string;
  readonly accessTokenLifetimeMs: number;
  readonly refreshTokenLifetimeMs: number;
  /** How long a just-rotated refresh token may be repeated for the same successor; 0 = never. */
  readonly refreshGraceMs: number;
}

export interface GrantDeps {
  readonly clients: ClientDeps;
  readonly settings: OAuth2Settings;
  /** RFC 9068 JWT access tokens; without it every access token is opaque. */
  readonly jwt?: JwtAccessTokens | undefined;
}

/** RFC 6749 §5.1, as clients copy it. */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope: string;
  readonly refresh_token?: string;
}

/** The authorization server's store: every grant acts as systemOAuth2. */
export function grantStore(deps: { clients: ClientDeps }): Store {
  return deps.clients.authz.as(systemActors.systemOAuth2);
}

export const CODE_PREFIX = 'lkac_';
export const REFRESH_TOKEN_PREFIX = 'lkrt_';

/** A code or refresh token: 32 random bytes behind a prefix secret scanners recognise. */
export function newOpaqueToken(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** How codes and refresh tokens are stored and looked up. */
export function hashToken(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

/** The access token to store for `key`: the API key row of an oauth2_app token. */
export function accessKeyArgs(
  app: OAuth2App,
  key: NewKey,
  scope: string,
  audience: string,
  settings: OAuth2Settings,
): OAuth2AccessKeyArgs {
  return {
    ...grantKeyArgs(app, key, settings),
    // The negotiated scope is enforced on the token, not only recorded (offline_access is
    // about refresh tokens and limits nothing). `latchkey:all` absorbs every other name,
    // as parseScopes does. Without it a grant may hold more names than a key request may
    // ask for (the catalog has ~75): the API reads stored keys without that count limit.
    // The one-statement grants make the same list in SQL (oauth2-grants.ts KEY_SCOPES).
    scopes: isUnrestricted(scope) ? [FULL_ACCESS] : apiScopes(scope),
    audience,
  };
}

/** An access key's row but its scopes and audience, which a one-statement grant takes from its grant's row. */
export function grantKeyArgs(app: OAuth2App, key: NewKey, settings: OAuth2Settings): OAuth2GrantKeyArgs {
  return {
    id: key.id,
    hashedSecret: key.hashedSecret,
    name: `oauth2: ${app.name || app.client_id}`.slice(0, 128),
    lifetimeSeconds: Math.max(1, Math.round(settings.accessTokenLifetimeMs / 1000)),
  };
}

/** How long a refresh token issued now lives, in seconds. */
export function refreshLifetimeSeconds(settings: OAuth2Settings): number {
  return Math.round(settings.refreshTokenLifetimeMs / 1000);
}

/** An access token about to be handed out, as its claims. */
export interface IssuedAccess {
  readonly key: Pick<NewKey, 'id' | 'token'>;
  readonly userId: string;
  readonly audience: string;
  readonly scopes: readonly string[];
  readonly issuedAt: Date;
  readonly expiresAt: Date;
}

/**
 * What the client receives as access_token: the API key itself, or — when the app or the
 * audience asks for it — the same key as an RFC 9068 JWT (jti = key id). Signed before the
 * row is written, so a signing failure consumes no code and rotates no refresh token.
 */
export async function accessTokenText(
  deps: GrantDeps,
  app: OAuth2App,
  access: IssuedAccess,
): Promise<string> {
  if (!deps.jwt?.wanted(app, access.audience)) return access.key.token;
  return deps.jwt.sign({
    jti: access.key.id,
    sub: access.userId,
    clientId: app.client_id,
    audience: access.audience,
    scope: access.scopes.join(' '),
    issuedAt: access.issuedAt,
    expiresAt: access.expiresAt,
  });
}

/**
 * The API key an access token names, and how to prove it: the API-key form by its secret
 * (constant time), the JWT form already proven by this server's signature over its jti.
 * Undefined for anything else, including a JWT that has expired (so has its key).
 */
export async function accessTokenKey(
  token: string,
  jwt: JwtAccessTokens | undefined,
): Promise<{ readonly id: string; matches(hashedSecret: Uint8Array): boolean } | undefined> {
  const parsed = parseKey(token);
  if (parsed) return { id: parsed.id, matches: (hashed) => secretMatches(parsed.secret, hashed) };
  const verified = await jwt?.keyId(token);
  if (verified === undefined || 'refused' in verified) return undefined;
  return { id: verified.id, matches: () => true };
}

/** The claims of an access token issued now with `args` (see accessKeyArgs). */
export function issuedNow(key: NewKey, userId: string, args: OAuth2AccessKeyArgs): IssuedAccess {
  const issuedAt = new Date();
  return {
    key,
    userId,
    audience: args.audience,
    scopes: args.scopes,
    issuedAt,
    expiresAt: new Date(issuedAt.getTime() + args.lifetimeSeconds * 1000),
  };
}

/**
 * A token response (RFC 6749 §5.1). Its `scope` says what the access token may do, plus
 * offline_access when a refresh token comes with it and the grant asked for one.
 */
export function tokenResponse(t: {
  readonly accessToken: string;
  readonly expiresIn: number;
  /** The access key's scopes. */
  readonly keyScopes: readonly string[];
  /** The grant's negotiated scope. */
  readonly grantScope: string;
  readonly refreshToken?: string | undefined;
}): TokenResponse {
  const offline = t.refreshToken !== undefined && scopeNames(t.grantScope).includes(OFFLINE_ACCESS);
  return {
    access_token: t.accessToken,
    token_type: 'Bearer',
    expires_in: t.expiresIn,
    scope: [...t.keyScopes, ...(offline ? [OFFLINE_ACCESS] : [])].join(' '),
    ...(t.refreshToken !== undefined ? { refresh_token: t.refreshToken } : {}),
  };
}

/** Whether the client may be issued refresh tokens (RFC 7591 grant_types). */
export function mayRefresh(app: OAuth2App): boolean {
  return app.grant_types.includes('refresh_token');
}
