import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// Login CSRF protection for the sign-in form. A form posted from another site would sign
// the visitor in to the attacker's account, so a cross-site post must be refused. The
// Origin header says where a post comes from, but the login page is sent with
// `Referrer-Policy: no-referrer` (its URL carries the authorization request), and under
// that policy browsers post its form with `Origin: null` — the same value a sandboxed
// iframe or a data: URL on an attacker's page sends. So a post with `Origin: null` must
// prove it came from the page, with a form token:
//
// - the page sets a pre-login cookie: 32 random bytes, HttpOnly, SameSite=Lax, on /login;
// - the form carries `issued-at.HMAC-SHA256(key = that cookie, issued-at)`;
// - the post is accepted when the token is fresh and matches the cookie it arrives with.
//
// An attacker's page cannot read the cookie or the token, and the browser does not send a
// Lax cookie with a cross-site POST, so a token from the attacker's own visit is useless
// in the victim's browser. Nothing is stored on the server, so any replica can check it.

export const LOGIN_CSRF_COOKIE = 'latchkey_login';
/** How long a sign-in form may be left open; the cookie lives as long. */
export const LOGIN_FORM_TTL_MS = 60 * 60_000;

const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

/** A new pre-login cookie value. */
export function newLoginCookieValue(): string {
  return randomBytes(32).toString('base64url');
}

/** Whether a cookie value is one this module could have made (else a new one is set). */
export function isLoginCookieValue(value: string | undefined): value is string {
  return value !== undefined && COOKIE_VALUE.test(value);
}

function mac(cookieValue: string, issuedAt: number): Buffer {
  return createHmac('sha256', cookieValue).update(`latchkey login form v1\0${issuedAt}`).digest();
}

/** The form token for the browser holding `cookieValue`. */
export function loginFormToken(cookieValue: string, now: number = Date.now()): string {
  return `${now}.${mac(cookieValue, now).toString('base64url')}`;
}

/** Whether `token` was made for the cookie the post came with, and is still fresh. */
export function verifyLoginFormToken(
  token: unknown,
  cookieValue: string | undefined,
  now: number = Date.now(),
): boolean {
  if (typeof token !== 'string' || !isLoginCookieValue(cookieValue)) return false;
  const m = /^(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return false;
  const issuedAt = Number(m[1]);
  // A minute of leeway for replicas whose clocks disagree.
  if (issuedAt > now + 60_000 || now - issuedAt > LOGIN_FORM_TTL_MS) return false;
  const presented = Buffer.from(m[2] as string, 'base64url');
  const expected = mac(cookieValue, issuedAt);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}
