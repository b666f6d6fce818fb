import { hash, timingSafeEqual } from 'node:crypto';

// PKCE (RFC 7636), S256 only. Challenge and verifier are both 43–128 characters of the
// unreserved set; anything else is refused before it is stored or hashed.

const PKCE_TEXT = /^[A-Za-z0-9._~-]{43,128}$/;

/** Whether `text` has the form of a code challenge or code verifier (RFC 7636 §4.1–4.2). */
export function isPkceText(text: string): boolean {
  return PKCE_TEXT.test(text);
}

/** The S256 challenge of a verifier: BASE64URL(SHA256(verifier)). */
export function s256(verifier: string): string {
  return hash('sha256', verifier, 'base64url');
}

/**
 * Whether `verifier` answers `challenge`, compared in constant time: how much of a
 * challenge matched must not show in the timing.
 */
export function verifyPkce(verifier: string, challenge: string): boolean {
  if (!isPkceText(verifier)) return false;
  const expected = Buffer.from(challenge);
  const actual = Buffer.from(s256(verifier));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
