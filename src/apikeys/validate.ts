import type { ApiKey, Store, User } from '../db/index.ts';
import type { KeyCache } from './key-cache.ts';
import { parseKey, secretMatches } from './token.ts';

export const VALIDATION_CODES = [
  'missing',
  'malformed',
  'unknown',
  'expired',
  'user_deleted',
  'user_suspended',
  'session_link_invalid',
  /** An OAuth2 access token bound to another resource server (RFC 8707 audience). */
  'wrong_audience',
  'internal',
] as const;
export type ValidationCode = (typeof VALIDATION_CODES)[number];

/**
 * Why a credential was not accepted. `hard` marks failures of Latchkey itself (the
 * database, role lookup): those are 500s and surface even on routes where signing in is
 * optional, because answering 401 would log a browser out over a passing outage. Soft
 * ones (401/403) are the caller's: optional routes go on anonymously.
 */
export class ApiKeyValidationError extends Error {
  readonly status: 401 | 403 | 500;
  readonly hard: boolean;
  readonly code: ValidationCode;
  constructor(code: ValidationCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ApiKeyValidationError';
    this.code = code;
    this.hard = code === 'internal';
    this.status = code === 'internal' ? 500 : code === 'user_suspended' ? 403 : 401;
  }
}

export interface ValidKey {
  readonly key: ApiKey;
  readonly user: User;
}

/** A key by id with its user (undefined once deleted); from the database or a cache. */
export type KeyLookup = (id: string) => Promise<{ key: ApiKey; user: User | undefined } | undefined>;

/** Reads the key id (jti) out of a JWT access token this server signed (RFC 9068). */
export interface JwtKeyIds {
  /** undefined: not a JWT at all. */
  keyId(
    token: string,
  ): Promise<{ readonly id: string } | { readonly refused: 'expired' | 'invalid' } | undefined>;
}

export interface ValidateDeps {
  readonly lookup: KeyLookup;
  readonly now: () => Date;
  /** Without it, JWT access tokens are refused as malformed. */
  readonly jwt?: JwtKeyIds | undefined;
}

type Presented = { readonly id: string; readonly secret: string | undefined };

/**
 * The key a token names: an API key by its id and secret, or a JWT access token by its
 * signature (the secret of the key behind a JWT is never handed out; the signature proves
 * the token came from here, the row still decides whether it is valid).
 */
async function presentedKey(
  token: string,
  jwt: JwtKeyIds | undefined,
): Promise<Presented | ApiKeyValidationError> {
  const parsed = parseKey(token);
  if (parsed) return parsed;
  if (!jwt) return new ApiKeyValidationError('malformed', 'The token is not a Latchkey API key.');
  let verified: Awaited<ReturnType<JwtKeyIds['keyId']>>;
  try {
    verified = await jwt.keyId(token);
  } catch (err) {
    return new ApiKeyValidationError('internal', 'Could not check the credentials; try again.', {
      cause: err,
    });
  }
  if (verified === undefined)
    return new ApiKeyValidationError('malformed', 'The token is not a Latchkey API key.');
  if ('refused' in verified) {
    return verified.refused === 'expired'
      ? new ApiKeyValidationError('expired', 'The token has expired.')
      : new ApiKeyValidationError('unknown', 'The token is not valid.');
  }
  return { id: verified.id, secret: undefined };
}

/** The lookup straight from the store, which must be bound to systemAuthn. */
export function storeLookup(store: Store): KeyLookup {
  return async (id) => {
    const key = await store.getApiKeyById({ id });
    if (!key) return undefined;
    return { key, user: await store.getUserById({ id: key.user_id }) };
  };
}

/**
 * The lookup through the replica's key cache: a hit costs no query; a miss reads the store
 * and caches the row unless a key or user was dropped while it read (see KeyCache).
 */
export function cachedLookup(keys: KeyCache, store: Store): KeyLookup {
  const fromStore = storeLookup(store);
  return async (id) => {
    const hit = keys.get(id);
    if (hit) return hit;
    const snapshot = keys.snapshot();
    const found = await fromStore(id);
    if (found?.user) keys.set(found.key, found.user, snapshot);
    return found;
  };
}

/**
 * Checks a presented token: format and checksum (no lookup needed to refuse garbage),
 * then the key by id, its secret in constant time, its expiry and its user. Returns the
 * key and user, or an ApiKeyValidationError value; it never throws.
 */
export async function validateApiKey(
  token: string | undefined,
  deps: ValidateDeps,
): Promise<ValidKey | ApiKeyValidationError> {
  if (token === undefined || token === '')
    return new ApiKeyValidationError('missing', 'No credentials were sent.');
  const presented = await presentedKey(token, deps.jwt);
  if (presented instanceof ApiKeyValidationError) return presented;
  let found: Awaited<ReturnType<KeyLookup>>;
  try {
    found = await deps.lookup(presented.id);
  } catch (err) {
    return new ApiKeyValidationError('internal', 'Could not check the credentials; try again.', {
      cause: err,
    });
  }
  // One answer for "no such key" and "wrong secret": the id alone must not be probeable.
  const proven =
    presented.secret === undefined
      ? found?.key.login_type === 'oauth2_app'
      : found !== undefined && secretMatches(presented.secret, found.key.hashed_secret);
  if (!found || !proven) {
    return new ApiKeyValidationError('unknown', 'The token is not valid.');
  }
  const { key, user } = found;
  if (key.expires_at.getTime() <= deps.now().getTime())
    return new ApiKeyValidationError('expired', 'The token has expired.');
  if (!user)
    return new ApiKeyValidationError('user_deleted', 'The token belongs to a user who no longer exists.');
  if (user.status === 'suspended')
    return new ApiKeyValidationError('user_suspended', 'The account is suspended.');
  return { key, user };
}
