import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ProviderContext, upstreamLatency } from './context.ts';
import { applyFault } from './faults.ts';
import { bearerToken, sendJson } from './http.ts';

const RATE_LIMIT = 5000;
const RATE_WINDOW_MS = 60 * 60 * 1000;

/** Rate-limit headers as GitHub (X-RateLimit-*) or GitLab (RateLimit-*) send them. */
function rateLimitHeaders(ctx: ProviderContext): Record<string, string> {
  const now = ctx.store.now();
  if (!ctx.rateWindow || now >= ctx.rateWindow.startedAt + RATE_WINDOW_MS) {
    ctx.rateWindow = { startedAt: now, used: 0 };
  }
  ctx.rateWindow.used += 1;
  const remaining = String(Math.max(0, RATE_LIMIT - ctx.rateWindow.used));
  const reset = String(Math.ceil((ctx.rateWindow.startedAt + RATE_WINDOW_MS) / 1000));
  if (ctx.flavour === 'github') {
    return {
      'X-RateLimit-Limit': String(RATE_LIMIT),
      'X-RateLimit-Remaining': remaining,
      'X-RateLimit-Reset': reset,
      'X-RateLimit-Used': String(ctx.rateWindow.used),
      'X-RateLimit-Resource': 'core',
    };
  }
  if (ctx.flavour === 'gitlab') {
    return {
      'RateLimit-Limit': String(RATE_LIMIT),
      'RateLimit-Remaining': remaining,
      'RateLimit-Reset': reset,
    };
  }
  return {};
}

/** GET validateUrl: the user behind a live bearer token, or 401 (after the simulated latency). */
export async function handleValidate(ctx: ProviderContext, req: IncomingMessage, res: ServerResponse) {
  ctx.stats.validateCalls += 1;
  await upstreamLatency(ctx);
  const headers = rateLimitHeaders(ctx);
  const fault = ctx.faults.take('validate');
  if (fault) return applyFault(res, fault, headers);
  const token = bearerToken(req, ctx.flavour === 'github');
  const grant = token === undefined ? undefined : ctx.store.liveAccess(token);
  if (!grant) {
    return sendJson(res, 401, ctx.profile.unauthorized.body, {
      ...headers,
      ...ctx.profile.unauthorized.headers,
    });
  }
  if (ctx.flavour === 'github') headers['X-OAuth-Scopes'] = grant.scope.split(',').join(', ');
  sendJson(res, 200, ctx.profile.userJson(ctx.store.user(grant.sub), ctx.urls.base), headers);
}
