import { z } from 'zod';
import type { OidcClaims } from '../db/index.ts';

// The identity claims Latchkey keeps from an ID token: a fixed, typed shape rather than
// whatever the provider sent, so nothing downstream reads a claim nobody validated.

const claimsSchema = z.object({
  email: z.string().max(320).default(''),
  email_verified: z.boolean().default(false),
  username: z.string().max(256).default(''),
  name: z.string().max(256).default(''),
  groups: z.array(z.string().max(256)).max(256).default([]),
});

export interface ClaimMapping {
  readonly usernameClaim: string;
  readonly emailClaim: string;
}

/** Maps raw ID-token claims to the stored shape; unusable values become empty. */
export function mapClaims(raw: Readonly<Record<string, unknown>>, mapping: ClaimMapping): OidcClaims {
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  const groups = Array.isArray(raw.groups)
    ? raw.groups.filter((g): g is string => typeof g === 'string')
    : [];
  const parsed = claimsSchema.safeParse({
    email: text(raw[mapping.emailClaim]).trim().toLowerCase(),
    // Some providers send "true" as a string; anything else is not a verification.
    email_verified: raw.email_verified === true || raw.email_verified === 'true',
    username: text(raw[mapping.usernameClaim]),
    name: text(raw.name),
    groups,
  });
  return parsed.success
    ? parsed.data
    : { email: '', email_verified: false, username: '', name: '', groups: [] };
}

/**
 * A username Latchkey accepts, from the claim (or the email's local part): characters
 * outside the username pattern dropped, at most 64, never empty.
 */
export function usernameFrom(claims: OidcClaims): string {
  const source = claims.username || claims.email.split('@')[0] || 'user';
  const cleaned = source
    .replace(/[^A-Za-z0-9._-]/g, '')
    .replace(/^[._-]+/, '')
    .slice(0, 64);
  return cleaned === '' ? 'user' : cleaned;
}
