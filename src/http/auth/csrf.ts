import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../api-error.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF protection for requests authenticated by the session cookie: a state-changing
 * request must come from Latchkey's own origin (Origin, or Referer when a browser sends
 * no Origin). Browsers attach cookies to cross-site form posts but always tell the truth
 * in these headers. Requests authenticated by a header token are exempt: another site
 * cannot make a browser send one.
 */
export function registerCsrfCheck(app: FastifyInstance, accessUrl: string): void {
  const origin = new URL(accessUrl).origin;
  app.addHook('preHandler', async (request) => {
    if (SAFE_METHODS.has(request.method) || request.auth?.source !== 'cookie') return;
    if (!sameOrigin(request, origin)) {
      throw new ApiError(
        403,
        'Cross-site request refused.',
        `State-changing requests with a session cookie must come from ${origin}.`,
      );
    }
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
