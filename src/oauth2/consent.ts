import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import type { Store } from '../db/index.ts';
import type { AuthorizationRequest } from './authorize.ts';
import { scopeCovers, unionScope } from './scopes.ts';

// Consent: the CSRF token of the consent form, and consent remembered per (user, client).
//
// The form's token is a MAC over the authorization request it shows, keyed by the
// session it was shown to: HMAC-SHA256(key = SHA-256(session token), issued-at ‖ client ‖
// redirect URI ‖ state ‖ challenge ‖ resource ‖ scope). Posting the form needs the token
// (a cross-site form cannot read it), it works only with the session it was made for (a
// token from the attacker's own session is useless in the victim's browser) and only for
// that request (a token shown for one client, scope or redirect URI cannot approve
// another). Nothing is stored, so any replica can check it, and it expires after
// CONSENT_TOKEN_TTL_MS.

export const CONSENT_TOKEN_TTL_MS = 10 * 60_000;

function mac(sessionToken: string, request: AuthorizationRequest, issuedAt: number): Buffer {
  const key = hash('sha256', `latchkey consent\0${sessionToken}`, 'buffer');
  const message = JSON.stringify([
    'v1',
    issuedAt,
    request.app.id,
    request.clientId,
    request.redirectUri,
    request.redirectUriParam,
    request.state ?? null,
    request.codeChallenge,
    request.resource,
    request.scope,
  ]);
  return createHmac('sha256', key).update(message).digest();
}

/** The CSRF token for the consent form showing `request` to the holder of `sessionToken`. */
export function consentToken(
  sessionToken: string,
  request: AuthorizationRequest,
  now: number = Date.now(),
): string {
  return `${now}.${mac(sessionToken, request, now).toString('base64url')}`;
}

/** Whether `token` was made for this session and this request, and is still fresh. */
export function verifyConsentToken(
  token: string | undefined,
  sessionToken: string,
  request: AuthorizationRequest,
  now: number = Date.now(),
): boolean {
  const m = token === undefined ? null : /^(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return false;
  const issuedAt = Number(m[1]);
  // A minute of leeway for clocks of replicas that disagree.
  if (issuedAt > now + 60_000 || now - issuedAt > CONSENT_TOKEN_TTL_MS) return false;
  const presented = Buffer.from(m[2] as string, 'base64url');
  const expected = mac(sessionToken, request, issuedAt);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

/** Whether the user already allowed this client everything the request asks (skip the page). */
export async function hasConsent(
  store: Store,
  userId: string,
  request: AuthorizationRequest,
): Promise<boolean> {
  const consent = await store.getOAuth2Consent({ userId, appId: request.app.id });
  return consent !== undefined && scopeCovers(consent.scope, request.scope);
}

/** Remembers that the user allowed this request's scope (added to what they allowed before). */
export async function recordConsent(
  store: Store,
  userId: string,
  request: AuthorizationRequest,
): Promise<void> {
  const consent = await store.getOAuth2Consent({ userId, appId: request.app.id });
  const scope = consent === undefined ? request.scope : unionScope(consent.scope, request.scope);
  await store.upsertOAuth2Consent({ userId, appId: request.app.id, scope });
}
