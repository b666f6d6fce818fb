import {
  ApiKeyValidationError,
  type JwtKeyIds,
  type KeyCache,
  type KeyLookup,
  type OidcSessionCheck,
  parseScopes,
  validateApiKey,
} from '../../apikeys/index.ts';
import { type CredentialLimits, parseAllowList, type SubjectCache } from '../../authz/index.ts';
import type { Config } from '../../config/index.ts';
import type { ApiKey, Store } from '../../db/index.ts';
import { isOwnAudience } from '../../oauth2/index.ts';
import type { Logger } from '../../observability/index.ts';
import type { PresentedToken } from './token-source.ts';
import type { AuthOutcome } from './types.ts';

export interface KeyAuthDeps {
  readonly config: Pick<Config, 'sessionDuration' | 'disableSessionExpiryRefresh' | 'accessUrl'>;
  /** Keys by id, through the replica's key cache (cachedLookup). */
  readonly lookup: KeyLookup;
  /** The same cache: kept in step when this replica writes to a key (last_used, expiry). */
  readonly keys: KeyCache;
  readonly subjects: SubjectCache;
  /** Bound to systemAuthn. */
  readonly store: Store;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** AK-6: sessions from OIDC sign-in also need a valid OIDC link. */
  readonly oidcSessions?: OidcSessionCheck | undefined;
  /** OA-5: JWT access tokens (RFC 9068) this server signed. */
  readonly jwt?: JwtKeyIds | undefined;
}

const LAST_USED_EVERY_MS = 60_000;

interface KeyLimits {
  readonly limits: CredentialLimits;
  readonly limitsKey: string;
  /** OA-5: an OAuth2 access token is accepted only when its audience is this server. */
  readonly audienceOk: boolean;
}

// Parsed once per key row: cached rows are the same object on every request.
const parsedLimits = new WeakMap<ApiKey, KeyLimits>();

function limitsOf(key: ApiKey, accessUrl: string): KeyLimits {
  let hit = parsedLimits.get(key);
  if (!hit) {
    const scopes = parseScopes(key.scopes, Number.POSITIVE_INFINITY);
    const allowList = parseAllowList(key.allow_list);
    hit = {
      limits: {
        // Stored values were validated when the key was made; a value a later version no
        // longer knows fails closed: the key then allows nothing.
        scopes: scopes.ok ? scopes.permissions : [],
        allowList: allowList.ok ? allowList.entries : [{ type: 'user', id: '-' }],
      },
      limitsKey: `${key.scopes.join(' ')}|${key.allow_list.join(' ')}`,
      audienceOk: key.login_type !== 'oauth2_app' || isOwnAudience(key.audience, accessUrl),
    };
    parsedLimits.set(key, hit);
  }
  return hit;
}

/**
 * Validates a presented API key or session and builds the caller's Subject, limited by
 * the key's scopes and allow-list. Validated keys are cached (revocation drops them on
 * every replica); the secret and expiry are still checked on every request.
 */
export function keyAuthenticator(
  deps: KeyAuthDeps,
): (presented: PresentedToken) => Promise<AuthOutcome | ApiKeyValidationError> {
  const now = deps.now ?? (() => new Date());
  const lookup = deps.lookup;

  return async (presented) => {
    const valid = await validateApiKey(presented.token, { lookup, now, jwt: deps.jwt });
    if (valid instanceof ApiKeyValidationError) return valid;
    const { key, user } = valid;
    const { limits, limitsKey, audienceOk } = limitsOf(key, deps.config.accessUrl);
    if (!audienceOk) {
      // A token for another resource server, however valid there, is no credential here.
      return new ApiKeyValidationError(
        'wrong_audience',
        'The token is not meant for this server (audience).',
      );
    }
    if (key.login_type === 'oidc' && deps.oidcSessions) {
      let refusal: ApiKeyValidationError | undefined;
      try {
        refusal = await deps.oidcSessions.check(user);
      } catch (err) {
        return new ApiKeyValidationError('internal', 'Could not check the sign-in; try again.', {
          cause: err,
        });
      }
      if (refusal) return refusal;
    }
    touch(key, now(), deps);
    try {
      const subject = await deps.subjects.resolve(user, limits, limitsKey);
      return {
        subject,
        userId: user.id,
        user,
        apiKeyId: key.id,
        source: presented.source,
        loginType: key.login_type,
      };
    } catch (err) {
      return new ApiKeyValidationError('internal', 'Could not resolve the roles of the caller; try again.', {
        cause: err,
      });
    }
  };
}

/**
 * Bookkeeping off the request's path: `last_used` at most once a minute (the database
 * enforces it across replicas), and a session's expiry pushed out as it is used unless
 * that is disabled. A failure here is logged, never the request's failure.
 */
function touch(key: ApiKey, at: Date, deps: KeyAuthDeps): void {
  if (at.getTime() - key.last_used.getTime() >= LAST_USED_EVERY_MS) {
    deps.store
      .updateApiKeyLastUsed({ id: key.id, now: at })
      .then((written) => {
        if (written) deps.keys.update({ ...key, last_used: at });
      })
      .catch((err: unknown) =>
        deps.logger.warn({ err: (err as Error).message, api_key_id: key.id }, 'could not record key use'),
      );
  }
  const session = key.login_type === 'password' || key.login_type === 'oidc';
  if (!session || deps.config.disableSessionExpiryRefresh) return;
  const lifetime = deps.config.sessionDuration;
  const remaining = key.expires_at.getTime() - at.getTime();
  // Extend when more than an hour (or half a short session) has been used up, not on
  // every request: one write per hour per active session.
  if (remaining < lifetime - Math.min(3_600_000, lifetime / 2)) {
    const expiresAt = new Date(at.getTime() + lifetime);
    deps.store
      .updateApiKeyExpiry({ id: key.id, expiresAt })
      .then(() => deps.keys.update({ ...key, expires_at: expiresAt }))
      .catch((err: unknown) =>
        deps.logger.warn({ err: (err as Error).message, api_key_id: key.id }, 'could not extend session'),
      );
  }
}
