import type { KeyLookup } from '../apikeys/index.ts';
import type { OAuth2App } from '../db/index.ts';
import { authenticateClient, type ClientAuthDeps } from './client-auth.ts';
import { accessTokenKey, grantStore, hashToken, REFRESH_TOKEN_PREFIX } from './grants/tokens.ts';
import type { JwtAccessTokens } from './jwt-access-tokens.ts';
import type { OAuthParams } from './params.ts';

// Token introspection (RFC 7662) for resource servers. Only confidential clients may ask
// (they authenticate like at the token endpoint). A resource server is an app an admin
// created (origin `admin`): it may introspect any token this server issued, whatever its
// audience — checking `aud` against itself is the resource server's job. Any other
// confidential client sees only its own tokens; everything else is `active: false`, the
// same answer as for an unknown, expired or revoked token, so nothing leaks.

export interface IntrospectionDeps extends ClientAuthDeps {
  /** The issuer. */
  readonly accessUrl: string;
  /** JWT access tokens are introspected like the opaque ones they encode. */
  readonly jwt?: JwtAccessTokens | undefined;
  /**
   * Access tokens by key id, through the replica's key cache (a resource server introspects
   * on every request it serves, so a warm answer costs no query; deleting a key drops it).
   */
  readonly keys: KeyLookup;
}

export type Introspection =
  | { readonly active: false }
  | {
      readonly active: true;
      readonly scope: string;
      readonly client_id: string;
      readonly username?: string;
      readonly sub: string;
      readonly aud: string;
      readonly iss: string;
      readonly exp: number;
      readonly iat: number;
      readonly token_type: 'Bearer' | 'refresh_token';
    };

const INACTIVE: Introspection = { active: false };
const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

function maySee(caller: OAuth2App, tokenAppId: string): boolean {
  return caller.origin === 'admin' || caller.id === tokenAppId;
}

export async function introspectToken(
  deps: IntrospectionDeps,
  params: OAuthParams,
  authorization: string | undefined,
): Promise<Introspection> {
  const caller = await authenticateClient(deps, params, authorization, { confidential: true });
  const token = params.required('token');
  params.optional('token_type_hint');
  const store = grantStore(deps);
  if (token.startsWith(REFRESH_TOKEN_PREFIX)) {
    const row = await store.getOAuth2RefreshTokenByHash({ tokenHash: hashToken(token), graceSeconds: 0 });
    if (!row || row.expired || row.rotated_at !== null || row.revoked_at !== null) return INACTIVE;
    if (!maySee(caller, row.app_id)) return INACTIVE;
    const app = row.app_id === caller.id ? caller : await store.getOAuth2AppById({ id: row.app_id });
    if (!app) return INACTIVE;
    return {
      active: true,
      scope: row.scope,
      client_id: app.client_id,
      sub: row.user_id,
      aud: row.resource,
      iss: deps.accessUrl,
      exp: seconds(row.expires_at),
      iat: seconds(row.created_at),
      token_type: 'refresh_token',
    };
  }
  const named = await accessTokenKey(token, deps.jwt);
  if (!named) return INACTIVE;
  const found = await deps.keys(named.id);
  if (found?.key.login_type !== 'oauth2_app' || !named.matches(found.key.hashed_secret)) return INACTIVE;
  const { key, user } = found;
  // A deleted user is not found; a suspended one's tokens are not active.
  if (key.expires_at.getTime() <= Date.now() || !user || user.status === 'suspended') return INACTIVE;
  const appId = key.oauth2_app_id;
  if (appId === null || !maySee(caller, appId)) return INACTIVE;
  const app = appId === caller.id ? caller : await store.getOAuth2AppById({ id: appId });
  if (!app) return INACTIVE;
  return {
    active: true,
    scope: key.scopes.join(' '),
    client_id: app.client_id,
    username: user.username,
    sub: key.user_id,
    aud: key.audience,
    iss: deps.accessUrl,
    exp: seconds(key.expires_at),
    iat: seconds(key.created_at),
    token_type: 'Bearer',
  };
}
