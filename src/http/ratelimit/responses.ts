import type { FastifyReply, FastifyRequest } from 'fastify';
import { pageHeaders, rateLimitedPage } from '../../ui/index.ts';
import { errorBody } from '../api-error.ts';
import type { Verdict } from './limiter.ts';
import type { LimitKind } from './metrics.ts';

/** A limit that refused the request, and what its bucket said. */
export interface Refusal {
  readonly kind: Exclude<LimitKind, 'concurrency'>;
  readonly verdict: Verdict;
}

/** Where the caller stands on a limited route; on every response, refused or not. */
export function limitHeaders(reply: FastifyReply, verdict: Verdict): void {
  reply.header('x-ratelimit-limit', String(verdict.limit));
  reply.header('x-ratelimit-remaining', String(verdict.remaining));
  // Epoch seconds when the bucket is full again (as GitHub and the library's docs do).
  reply.header('x-ratelimit-reset', String(Math.ceil((Date.now() + verdict.msBeforeReset) / 1000)));
}

/** Whole seconds, rounded up (and at least 1) so a client that waits that long is let in. */
export const retryAfterSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** 429 with Retry-After, and where the caller stands. */
export function tooManyRequests(
  request: FastifyRequest,
  reply: FastifyReply,
  refusal: Refusal,
): FastifyReply {
  const { verdict } = refusal;
  const seconds = retryAfterSeconds(verdict.msBeforeReset);
  const route = `${request.method} ${request.routeOptions.url ?? 'unknown paths'}`;
  const scope =
    refusal.kind === 'token'
      ? 'with this token'
      : refusal.kind === 'client'
        ? `for this client to ${route}`
        : `to ${route}`;
  limitHeaders(reply, verdict);
  const detail = `At most ${verdict.limit} requests a minute ${scope}; try again in ${seconds} s.`;
  reply.code(429).header('retry-after', String(seconds));
  // Pages (the authorization endpoint) answer the person in the browser.
  if (request.routeOptions.config.rateLimitPage) {
    return reply.headers(pageHeaders('no-referrer')).send(rateLimitedPage(seconds, detail));
  }
  // OAuth endpoints answer in RFC 6749 §5.2 form, which OAuth clients parse (no 429 code is
  // registered; temporarily_unavailable is the registered one that means "later").
  if (request.routeOptions.config.errorFormat === 'oauth') {
    return reply
      .header('cache-control', 'no-store')
      .send({ error: 'temporarily_unavailable', error_description: detail });
  }
  return reply.send(errorBody('Too many requests.', detail));
}

/** 503 while a route group has all the requests in flight it may have. */
export function atCapacity(reply: FastifyReply, group: string, capacity: number): FastifyReply {
  return reply
    .code(503)
    .header('retry-after', '1')
    .send(errorBody('at capacity', `${capacity} ${group} requests are in flight; try again shortly.`));
}
