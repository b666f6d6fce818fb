import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { finishLink, startLink, type Vault } from '../../externalauth/index.ts';
import { safeRedirect } from '../../ui/index.ts';
import { optionalAuth, requireAuth } from '../auth/actor.ts';
import type { RouteDeps } from './index.ts';
import { store } from './loaders.ts';

type ProviderParams = { Params: { provider: string } };

const tokenQuery = z.object({
  wait: z.enum(['true', 'false']).optional(),
});

const callbackQuery = z.object({
  code: z.string().max(4096).optional(),
  state: z.string().max(512).optional(),
  error: z.string().max(256).optional(),
});

/** How long `?wait=true` holds a request before answering not_linked; clients poll again. */
const WAIT_LIMIT_MS = 60_000;

function userOf(request: FastifyRequest): string {
  // requireAuth ran: there is a caller, and every caller is a user.
  return (request.auth as { userId: string }).userId;
}

/** The token vault over HTTP (EA-2, EA-9): list, fetch a fresh token, link, unlink. */
export function registerExternalAuthRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { authz, vault, config } = deps;

  app.get('/api/v1/external-auth', { preHandler: requireAuth }, async (request) => {
    const states = await vault.list(store(request, authz), userOf(request));
    return {
      providers: states.map((s) => ({
        id: s.provider.id,
        type: s.provider.type,
        display_name: s.provider.displayName,
        icon: s.provider.icon,
        device_flow: s.provider.deviceFlow,
        // Repository URLs this provider serves, for `latchkey git-credential` (EA-10).
        regex: s.provider.regex?.source ?? null,
        linked: s.linked,
        linked_at: s.linkedAt?.toISOString() ?? null,
        expires_at: s.expiresAt?.toISOString() ?? null,
        failure_reason: s.failureReason || null,
        link_url: `${config.accessUrl}/external-auth/${encodeURIComponent(s.provider.id)}/link`,
      })),
    };
  });

  app.get<ProviderParams>(
    '/api/v1/external-auth/:provider/token',
    { preHandler: requireAuth },
    async (request, reply) => {
      const query = tokenQuery.parse(request.query);
      const caller = store(request, authz);
      const userId = userOf(request);
      let token: Awaited<ReturnType<Vault['token']>>;
      if (query.wait === 'true') {
        // The wait ends when the client goes away, so an abandoned poll holds nothing.
        const gone = new AbortController();
        request.raw.once('close', () => gone.abort());
        token = await vault.waitForToken(caller, userId, request.params.provider, {
          timeoutMs: WAIT_LIMIT_MS,
          signal: gone.signal,
        });
      } else {
        token = await vault.token(caller, userId, request.params.provider);
      }
      reply.header('cache-control', 'no-store');
      return {
        access_token: token.accessToken,
        token_type: token.tokenType,
        expires_at: token.expiresAt?.toISOString() ?? null,
        extra: token.extra,
      };
    },
  );

  app.delete<ProviderParams>(
    '/api/v1/external-auth/:provider',
    { preHandler: requireAuth },
    async (request, reply) => {
      await vault.unlink(store(request, authz), userOf(request), request.params.provider);
      return reply.code(204).send();
    },
  );

  // Browser steps of linking. Without a session the user signs in first and comes back.
  app.get<ProviderParams & { Querystring: { return_to?: string } }>(
    '/external-auth/:provider/link',
    { preHandler: optionalAuth },
    async (request, reply) => {
      if (!request.actor) {
        const here = request.url;
        return reply.redirect(`/login?redirect=${encodeURIComponent(here)}`, 303);
      }
      const url = await startLink(deps.linkFlow, store(request, authz), {
        userId: userOf(request),
        providerId: request.params.provider,
        returnTo: safeRedirect(request.query.return_to, config.accessUrl),
      });
      reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
      return reply.redirect(url.href, 302);
    },
  );

  app.get<ProviderParams>(
    '/external-auth/:provider/callback',
    { preHandler: requireAuth },
    async (request, reply) => {
      const query = callbackQuery.parse(request.query);
      const { returnTo } = await finishLink(deps.linkFlow, store(request, authz), {
        userId: userOf(request),
        providerId: request.params.provider,
        code: query.code,
        state: query.state,
        error: query.error,
      });
      // The callback URL carries the code; no-referrer keeps it off the next page's requests.
      reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
      return reply.redirect(returnTo, 303);
    },
  );
}
