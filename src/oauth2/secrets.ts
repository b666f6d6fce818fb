import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

// The secrets the authorization server hands to clients, in one place: client secrets
// (registration and the admin API make them; the token endpoint checks them) and
// registration access tokens (RFC 7592). Each is 32 random bytes (base64url) behind a
// recognisable prefix for secret scanners, and is stored only as its SHA-256: with that
// much entropy a slow hash would add latency and nothing else.
//
// Shared with the token endpoint (client authentication lives there): hash a presented
// secret with hashClientSecret and compare with sameHash, never with ===.

export const CLIENT_SECRET_PREFIX = 'lkcs_';
export const REGISTRATION_TOKEN_PREFIX = 'lkrat_';
/** Characters of a secret kept in clear so admins can tell an app's secrets apart. */
const DISPLAY_PREFIX_LENGTH = CLIENT_SECRET_PREFIX.length + 6;

export interface NewSecret {
  /** Shown to the client once, never stored. */
  readonly secret: string;
  readonly hashed: Buffer;
  readonly displayPrefix: string;
}

const random = (prefix: string) => `${prefix}${randomBytes(32).toString('base64url')}`;

/** SHA-256 of a client secret or registration access token, as stored. */
export function hashClientSecret(secret: string): Buffer {
  return hash('sha256', secret, 'buffer');
}

export function newClientSecret(): NewSecret {
  const secret = random(CLIENT_SECRET_PREFIX);
  return { secret, hashed: hashClientSecret(secret), displayPrefix: secret.slice(0, DISPLAY_PREFIX_LENGTH) };
}

export function newRegistrationAccessToken(): { token: string; hashed: Buffer } {
  const token = random(REGISTRATION_TOKEN_PREFIX);
  return { token, hashed: hashClientSecret(token) };
}

/** Constant-time comparison of two stored-form hashes. */
export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
