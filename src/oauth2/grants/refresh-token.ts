import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { deriveKey, type NewKey } from '../../apikeys/index.ts';
import type { OAuth2App, OAuth2RefreshTokenState, Store } from '../../db/index.ts';
import { OAuthError } from '../errors.ts';
import type { OAuthParams } from '../params.ts';
import { isWithin, normaliseResource } from '../resource.ts';
import { narrowScope } from '../scopes.ts';
import { sameHash } from '../secrets.ts';
import {
  accessKeyArgs,
  accessTokenText,
  type GrantDeps,
  grantKeyArgs,
  grantStore,
  hashToken,
  issuedNow,
  REFRESH_TOKEN_PREFIX,
  refreshLifetimeSeconds,
  type TokenResponse,
  tokenResponse,
} from './tokens.ts';

// The refresh_token grant (RFC 6749 §6, OAuth 2.1 §4.3.1) with rotation and a grace window.
//
// Rotation: the presented token is marked rotated and its successor inserted in ONE
// statement (oauth2-grants.ts rotateOAuth2RefreshToken), conditioned on `rotated_at IS
// NULL`: there is no moment in which both work, and of two racing requests one rotates.
//
// The grace window (LATCHKEY_OAUTH2_REFRESH_GRACE, default 30 s, 0 = strict): real clients
// race their own refreshes (two processes of one client, 13 ms apart). The loser presents
// a token that was just rotated. Within the window that is an idempotent retry, answered
// with the SAME successor: the same refresh token and the same access token. Tokens are
// stored only as hashes, so the successor cannot be read back; instead it is DERIVED:
//
//   successor refresh token = "lkrt_" + HMAC-SHA256(key = presented token, "refresh" ‖ seed)
//   successor access token  = deriveKey(HMAC-SHA256(key = presented token, "access" ‖ seed))
//
// where `seed` is 32 random bytes stored on the rotated row (successor_seed). A retry
// presents the old token again, so the server recomputes both and checks them against the
// stored hashes. Neither half alone is enough: the database holds the seed but never the
// token, and someone holding only an old token cannot compute its successor without the
// seed. The successor must still stand (not rotated on, not revoked) and the retry must
// come within the window; anything else is reuse and revokes the whole family (RFC 9700
// §4.14.2), access tokens included.

const invalidGrant = (description: string) => new OAuthError('invalid_grant', description);

interface Successor {
  readonly refreshToken: string;
  readonly key: NewKey;
}

function successorOf(presented: string, seed: Buffer): Successor {
  const mac = (label: string) => createHmac('sha256', presented).update(label).update(seed).digest();
  return {
    refreshToken: `${REFRESH_TOKEN_PREFIX}${mac('refresh').toString('base64url')}`,
    key: deriveKey(mac('access')),
  };
}

/** RFC 8707 §2.2 at refresh: the granted resource, or one within it; never another. */
function narrowResource(granted: string, requested: string | undefined): string {
  if (requested === undefined) return granted;
  const normal = normaliseResource(requested);
  if (normal === undefined || !isWithin(normal, granted)) {
    throw new OAuthError('invalid_target', 'resource is not within the one authorized.');
  }
  return normal;
}

export async function refreshTokenGrant(
  deps: GrantDeps,
  app: OAuth2App,
  params: OAuthParams,
): Promise<TokenResponse> {
  const presented = params.required('refresh_token');
  const scopeParam = params.optional('scope');
  const resourceParam = params.optional('resource', 'invalid_target');
  const store = grantStore(deps);
  // The usual refresh — nothing narrowed, opaque tokens — is one statement; whatever it
  // does not rotate (unknown, another client's, revoked, expired, a repeat) is looked at
  // below, as if it had not been tried.
  if (scopeParam === undefined && resourceParam === undefined && !deps.jwt?.mayWant(app)) {
    const done = await rotateByHash(deps, app, store, presented);
    if (done) return done;
  }
  const lookup = { tokenHash: hashToken(presented), graceSeconds: deps.settings.refreshGraceMs / 1000 };

  let row = await store.getOAuth2RefreshTokenByHash(lookup);
  // Another client's token is refused like an unknown one, and does not revoke anything.
  if (!row || row.app_id !== app.id) throw invalidGrant('The refresh token is not valid.');
  if (row.revoked_at !== null) throw invalidGrant('The refresh token has been revoked.');
  const narrowed = narrowScope(row.scope, scopeParam);
  if (!narrowed.ok) throw narrowed.error;
  const resource = narrowResource(row.resource, resourceParam);

  if (row.rotated_at === null) {
    if (row.expired) throw invalidGrant('The refresh token has expired.');
    const seed = randomBytes(32);
    const next = successorOf(presented, seed);
    const access = accessKeyArgs(app, next.key, narrowed.scope, resource, deps.settings);
    const accessToken = await accessTokenText(deps, app, issuedNow(next.key, row.user_id, access));
    const rotated = await store.rotateOAuth2RefreshToken({
      old: row,
      seed,
      successor: {
        id: randomUUID(),
        tokenHash: hashToken(next.refreshToken),
        // The successor carries the grant as it was; only this access token is narrowed.
        resource: row.resource,
        scope: row.scope,
        lifetimeSeconds: refreshLifetimeSeconds(deps.settings),
      },
      accessKey: access,
    });
    if (rotated) {
      return tokenResponse({
        accessToken,
        expiresIn: access.lifetimeSeconds,
        keyScopes: access.scopes,
        grantScope: row.scope,
        refreshToken: next.refreshToken,
      });
    }
    // A concurrent request rotated it first (or it expired or was revoked this instant):
    // read what happened and answer as a repeat.
    row = await store.getOAuth2RefreshTokenByHash(lookup);
    if (!row || row.rotated_at === null || row.revoked_at !== null) {
      throw invalidGrant('The refresh token is no longer valid.');
    }
  }
  return repeat(deps, app, store, row, presented);
}

/** The one-statement refresh: the answer, or undefined when the token was not rotated. */
async function rotateByHash(
  deps: GrantDeps,
  app: OAuth2App,
  store: Store,
  presented: string,
): Promise<TokenResponse | undefined> {
  const seed = randomBytes(32);
  const next = successorOf(presented, seed);
  const key = grantKeyArgs(app, next.key, deps.settings);
  const issued = await store.rotateOAuth2RefreshTokenByHash({
    tokenHash: hashToken(presented),
    appId: app.id,
    seed,
    successor: {
      id: randomUUID(),
      tokenHash: hashToken(next.refreshToken),
      lifetimeSeconds: refreshLifetimeSeconds(deps.settings),
    },
    accessKey: key,
  });
  if (!issued) return undefined;
  return tokenResponse({
    accessToken: next.key.token,
    expiresIn: key.lifetimeSeconds,
    keyScopes: issued.keyScopes,
    grantScope: issued.scope,
    refreshToken: next.refreshToken,
  });
}

/** A just-rotated token presented again: the same successor within the window, else reuse. */
async function repeat(
  deps: GrantDeps,
  app: OAuth2App,
  store: Store,
  row: OAuth2RefreshTokenState,
  presented: string,
): Promise<TokenResponse> {
  if (row.in_grace && row.successor_seed !== null) {
    const found = await store.getOAuth2RefreshTokenSuccessor({ id: row.id });
    if (found) {
      const next = successorOf(presented, row.successor_seed);
      if (
        sameHash(hashToken(next.refreshToken), found.token.token_hash) &&
        next.key.id === found.key.id &&
        sameHash(next.key.hashedSecret, found.key.hashedSecret)
      ) {
        // The same key as the first answer; as a JWT, the same claims (re-signed: ES256
        // signatures differ from one signing to the next, the token's meaning does not).
        const accessToken = await accessTokenText(deps, app, {
          key: next.key,
          userId: row.user_id,
          audience: found.key.audience,
          scopes: found.key.scopes,
          issuedAt: found.key.createdAt,
          expiresAt: found.key.expiresAt,
        });
        return tokenResponse({
          accessToken,
          expiresIn: Math.max(1, Math.round((found.key.expiresAt.getTime() - Date.now()) / 1000)),
          keyScopes: found.key.scopes,
          grantScope: found.token.scope,
          refreshToken: next.refreshToken,
        });
      }
    }
  }
  await store.revokeOAuth2RefreshTokenFamily({ familyId: row.family_id });
  throw invalidGrant('The refresh token was already used; every token of this grant is revoked.');
}
