import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ForbiddenError } from '../../authz/index.ts';
import { DeviceFlowError, pollDeviceLink, startDeviceLink, VaultError } from '../../externalauth/index.ts';
import { deviceCodePage, EXTERNAL_AUTH_PAGE_PATH, externalAuthPage } from '../../ui/index.ts';
import { optionalAuth } from '../auth/actor.ts';
import { sameOrigin } from '../auth/csrf.ts';
import { DEVICE_FLOW_STATUS } from '../error-handler.ts';
import type { RouteDeps } from './index.ts';
import { store } from './loaders.ts';
import { html } from './pages.ts';

type FormRoute = { Params: { provider: string }; Body: unknown };
type FormRequest = FastifyRequest<FormRoute>;

const webUrl = z.url({ protocol: /^https?$/ }).max(2048);

// The device page carries what it shows (code, URL) in hidden fields, so that a poll can
// show it again without Latchkey keeping it; all of it is checked as the user's input.
const pollForm = z.object({
  device_code: z.string().min(1).max(512),
  user_code: z.string().min(1).max(64),
  verification_uri: webUrl,
  verification_uri_complete: webUrl.optional(),
  interval: z.coerce.number().int().min(1).max(600).catch(5),
});

function userOf(request: FastifyRequest): string {
  // Only called once request.actor is known: every caller is a user.
  return (request.auth as { userId: string }).userId;
}

/**
 * The external accounts page and its forms (EA-2): link, link with a code (device flow),
 * unlink. Registered in the pages scope, whose parser reads urlencoded form bodies.
 */
export function registerExternalAuthPages(app: FastifyInstance, deps: RouteDeps): void {
  const { authz, vault, config } = deps;
  const origin = new URL(config.accessUrl).origin;

  const signIn = (reply: FastifyReply) =>
    reply.redirect(`/login?redirect=${encodeURIComponent(EXTERNAL_AUTH_PAGE_PATH)}`, 303);

  const render = async (request: FastifyRequest, reply: FastifyReply, status: number, error?: string) => {
    const providers = await vault.list(store(request, authz), userOf(request));
    return html(reply, status, externalAuthPage({ providers, now: deps.linkFlow.clock(), error }));
  };

  const displayName = (id: string) => vault.registry.list().find((p) => p.id === id)?.displayName ?? id;

  /**
   * A form post: signed in, and from this origin — checked here whatever the credential,
   * as the sign-in form does: posted from another site, these forms would unlink the
   * user's accounts or start linking someone else's.
   */
  const form =
    (handler: (request: FormRequest, reply: FastifyReply, userId: string) => Promise<FastifyReply>) =>
    async (request: FormRequest, reply: FastifyReply) => {
      if (!request.actor) return signIn(reply);
      if (!sameOrigin(request, origin)) return render(request, reply, 403, 'Cross-site request refused.');
      try {
        return await handler(request, reply, userOf(request));
      } catch (err) {
        if (err instanceof DeviceFlowError)
          return render(request, reply, DEVICE_FLOW_STATUS[err.code], err.message);
        throw err;
      }
    };

  app.get(EXTERNAL_AUTH_PAGE_PATH, { preHandler: optionalAuth }, async (request, reply) => {
    if (!request.actor) return signIn(reply);
    return render(request, reply, 200);
  });

  app.post<FormRoute>(
    `${EXTERNAL_AUTH_PAGE_PATH}/:provider/unlink`,
    { preHandler: optionalAuth },
    form(async (request, reply, userId) => {
      try {
        await vault.unlink(store(request, authz), userId, request.params.provider);
      } catch (err) {
        // Already gone (another tab, an API call): the page will say "Not linked".
        const gone =
          (err instanceof ForbiddenError && err.action === 'read') ||
          (err instanceof VaultError && err.code === 'not_linked');
        if (!gone) throw err;
      }
      return reply.redirect(EXTERNAL_AUTH_PAGE_PATH, 303);
    }),
  );

  app.post<FormRoute>(
    `${EXTERNAL_AUTH_PAGE_PATH}/:provider/device`,
    { preHandler: optionalAuth },
    form(async (request, reply, userId) => {
      const providerId = request.params.provider;
      const started = await startDeviceLink(deps.linkFlow, store(request, authz), { userId, providerId });
      return html(
        reply,
        200,
        deviceCodePage({
          provider: { id: providerId, displayName: displayName(providerId) },
          ...started,
        }),
      );
    }),
  );

  app.post<FormRoute>(
    `${EXTERNAL_AUTH_PAGE_PATH}/:provider/device/poll`,
    { preHandler: optionalAuth },
    form(async (request, reply, userId) => {
      const providerId = request.params.provider;
      const parsed = pollForm.safeParse(request.body ?? {});
      if (!parsed.success)
        return render(request, reply, 400, 'That form was incomplete; start linking again.');
      const shown = parsed.data;
      const result = await pollDeviceLink(deps.linkFlow, store(request, authz), {
        userId,
        providerId,
        deviceCode: shown.device_code,
        intervalSeconds: shown.interval,
      });
      if (result.status === 'linked') return reply.redirect(EXTERNAL_AUTH_PAGE_PATH, 303);
      return html(
        reply,
        200,
        deviceCodePage({
          provider: { id: providerId, displayName: displayName(providerId) },
          deviceCode: shown.device_code,
          userCode: shown.user_code,
          verificationUri: shown.verification_uri,
          verificationUriComplete: shown.verification_uri_complete,
          interval: result.interval,
          waiting: result.status,
        }),
      );
    }),
  );
}
