import type { FlavourProfile } from './flavours.ts';

const GITHUB_WEB_FLOW_ERRORS =
  'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors';
const GITHUB_DEVICE_FLOW_ERRORS =
  'https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow';

/**
 * Every token-endpoint failure the fake can answer: the RFC 6749/8628 code and status, and
 * what GitHub says instead (GitHub answers all of them with HTTP 200).
 */
const TOKEN_ERRORS = {
  invalidRequest: {
    code: 'invalid_request',
    status: 400,
    description: 'The request is missing a required parameter or is malformed.',
    github: ['invalid_request', 'The request is missing a required parameter or is malformed.', ''],
  },
  invalidClient: {
    code: 'invalid_client',
    status: 401,
    description: 'Client authentication failed.',
    github: [
      'incorrect_client_credentials',
      'The client_id and/or client_secret passed are incorrect.',
      `${GITHUB_WEB_FLOW_ERRORS}/#incorrect-client-credentials`,
    ],
  },
  badCode: {
    code: 'invalid_grant',
    status: 400,
    description: 'The authorization code is invalid, expired, already used or issued to another client.',
    github: [
      'bad_verification_code',
      'The code passed is incorrect or expired.',
      `${GITHUB_WEB_FLOW_ERRORS}/#bad-verification-code`,
    ],
  },
  pkceMismatch: {
    code: 'invalid_grant',
    status: 400,
    description: 'PKCE verification failed: code_verifier does not match code_challenge.',
    github: [
      'bad_verification_code',
      'The code passed is incorrect or expired.',
      `${GITHUB_WEB_FLOW_ERRORS}/#bad-verification-code`,
    ],
  },
  redirectMismatch: {
    code: 'invalid_grant',
    status: 400,
    description: 'The redirect_uri does not match the one used in the authorization request.',
    github: [
      'redirect_uri_mismatch',
      'The redirect_uri MUST match the registered callback URL for this application.',
      `${GITHUB_WEB_FLOW_ERRORS}/#redirect-uri-mismatch2`,
    ],
  },
  badRefreshToken: {
    code: 'invalid_grant',
    status: 400,
    description: 'The refresh token is invalid, expired, revoked or was already used.',
    github: [
      'bad_refresh_token',
      'The refresh token passed is incorrect or expired.',
      `${GITHUB_WEB_FLOW_ERRORS}/#bad-refresh-token`,
    ],
  },
  authorizationPending: {
    code: 'authorization_pending',
    status: 400,
    description: 'The user has not yet approved the device code.',
    github: [
      'authorization_pending',
      'The authorization request is still pending.',
      GITHUB_DEVICE_FLOW_ERRORS,
    ],
  },
  slowDown: {
    code: 'slow_down',
    status: 400,
    description: 'Polling faster than the interval; the interval grew by 5 seconds.',
    github: [
      'slow_down',
      'Too many requests have been made in the same timeframe.',
      GITHUB_DEVICE_FLOW_ERRORS,
    ],
  },
  expiredToken: {
    code: 'expired_token',
    status: 400,
    description: 'The device code has expired.',
    github: ['expired_token', 'The device_code has expired.', GITHUB_DEVICE_FLOW_ERRORS],
  },
  accessDenied: {
    code: 'access_denied',
    status: 400,
    description: 'The user denied the request.',
    github: ['access_denied', 'The authorization request was denied.', GITHUB_DEVICE_FLOW_ERRORS],
  },
  badDeviceCode: {
    code: 'invalid_grant',
    status: 400,
    description: 'The device code is invalid, already used or issued to another client.',
    github: ['incorrect_device_code', 'The device_code provided is not valid.', GITHUB_DEVICE_FLOW_ERRORS],
  },
  unsupportedGrantType: {
    code: 'unsupported_grant_type',
    status: 400,
    description: 'The grant type is not supported.',
    github: ['unsupported_grant_type', 'The grant type is not supported.', GITHUB_DEVICE_FLOW_ERRORS],
  },
} as const;

export type TokenErrorKind = keyof typeof TOKEN_ERRORS;

/** A token-endpoint failure as a value; the flavour decides how it goes on the wire. */
export class TokenError extends Error {
  readonly kind: TokenErrorKind;
  /** Extra members of the error body (slow_down's new `interval`). */
  readonly extra: Record<string, string | number>;

  constructor(kind: TokenErrorKind, extra: Record<string, string | number> = {}) {
    super(TOKEN_ERRORS[kind].description);
    this.name = 'TokenError';
    this.kind = kind;
    this.extra = extra;
  }

  render(profile: FlavourProfile): { status: number; body: Record<string, string | number> } {
    const spec = TOKEN_ERRORS[this.kind];
    if (profile.errorsAsOk) {
      const [error, description, uri] = spec.github;
      const body: Record<string, string | number> = { error, error_description: description };
      if (uri) body.error_uri = uri;
      return { status: 200, body: { ...body, ...this.extra } };
    }
    return {
      status: spec.status,
      body: { error: spec.code, error_description: spec.description, ...this.extra },
    };
  }
}
