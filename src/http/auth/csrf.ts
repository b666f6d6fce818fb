import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../api-error.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route checks a CSRF token of its own (the OAuth consent form). A browser that
     * withholds its origin there (`Origin: null`, as under `Referrer-Policy: no-referrer`)
     * is let through to that check; a foreign origin is still refused here.
     */
    csrfToken?: boolean;
  }
}

/**
 * CSRF protection for requests authenticated by the session cookie: a state-changing
 * request must come from Latchkey's own origin (Origin, or Referer when a browser sends
 * no Origin). Browsers attach cookies to cross-site form posts but always tell the truth
 * in these headers. Requests authenticated by a header token are exempt: another site
 * cannot make a browser send one.
 */
export function registerCsrfCheck(app: FastifyInstance, accessUrl: string): void {
  const origin = new URL(accessUrl).origin;
  app.addHook('preHandler', (request, _reply, done) => {
    if (SAFE_METHODS.has(request.method) || request.auth?.source !== 'cookie') return done();
    if (!sameOrigin(request, origin)) {
      if (request.routeOptions.config.csrfToken && request.headers.origin === 'null') return done();
      // Routes open to other origins (OAuth endpoints, /mcp: see oauth2-cors.ts) are not
      // refused: a cross-site cookie is ignored there and the request is anonymous, so
      // the client's own credentials (or none) decide, never the browser's session.
      if (request.routeOptions.config.cors !== undefined) {
        request.actor = undefined;
        request.auth = undefined;
        return done();
      }
      return done(
        new ApiError(
          403,
          'Cross-site request refused.',
          `State-changing requests with a session cookie must come from ${origin}.`,
        ),
      );
    }
    done();
  });
}

/** Whether the request says it comes from `origin`; used by the login form too. */
export function sameOrigin(request: FastifyRequest, origin: string): boolean {
  const claimed = request.headers.origin ?? refererOrigin(request.headers.referer);
  return claimed === origin;
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}
