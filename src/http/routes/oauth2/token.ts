import type { FastifyInstance } from 'fastify';
import type { Config } from '../../../config/index.ts';
import { handleTokenRequest, type OAuth2Settings, OAuthError, OAuthParams } from '../../../oauth2/index.ts';
import { OAUTH_BODY_LIMIT } from '../../error-handler.ts';
import type { OAuth2RouteDeps } from '../index.ts';

// POST /oauth2/token (RFC 6749 §3.2, OA-4). Form-encoded, at most 64 KiB (larger: 413
// invalid_request before anything else runs), cross-origin for browser clients, errors
// as RFC 6749 §5.2 JSON, never cached.

export const OAUTH_ROUTE = { errorFormat: 'oauth', cors: 'oauth' } as const;
export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

/**
 * The form bodies of the OAuth endpoints (and the consent form), parsed into
 * URLSearchParams so a parameter sent twice is seen (RFC 6749 §3.1: an error), not
 * silently collapsed. Registered in the encapsulated scope those routes share.
 */
export function registerOAuthFormBody(app: FastifyInstance): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: OAUTH_BODY_LIMIT },
    (_request, body, done) => done(null, new URLSearchParams(body as string)),
  );
}

/** A form body as OAuth parameters; anything but a form is invalid_request. */
export function formParams(body: unknown): OAuthParams {
  if (!(body instanceof URLSearchParams)) {
    throw new OAuthError('invalid_request', 'Send the parameters as application/x-www-form-urlencoded.');
  }
  return new OAuthParams(body);
}

export function oauth2Settings(config: Config): OAuth2Settings {
  return {
    accessUrl: config.accessUrl,
    accessTokenLifetimeMs: config.oauth2AccessTokenLifetime,
    refreshTokenLifetimeMs: config.oauth2RefreshTokenLifetime,
    refreshGraceMs: config.oauth2RefreshGrace,
  };
}

export function registerTokenRoute(app: FastifyInstance, deps: OAuth2RouteDeps): void {
  const grants = { clients: deps.clients, settings: oauth2Settings(deps.config), jwt: deps.jwt };
  // Rate limits: per client address, and per client per address (client_id from the body
  // or the Basic credentials), answered as OAuth JSON (429 temporarily_unavailable).
  const config = {
    ...OAUTH_ROUTE,
    rateLimitPerMinute: deps.config.rateLimitOauth2Token,
    rateLimitPerClient: deps.config.rateLimitOauth2TokenPerClient,
  };
  app.post('/oauth2/token', { bodyLimit: OAUTH_BODY_LIMIT, config }, async (request, reply) => {
    const response = await handleTokenRequest(
      grants,
      formParams(request.body),
      request.headers.authorization,
    );
    return reply.headers(NO_STORE).send(response);
  });
}
