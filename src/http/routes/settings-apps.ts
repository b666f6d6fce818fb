import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { systemActors } from '../../authz/index.ts';
import { describeScope } from '../../oauth2/index.ts';
import { type AuthorizedAppView, pageHeaders, SETTINGS_APPS_PATH, settingsAppsPage } from '../../ui/index.ts';
import { optionalAuth } from '../auth/actor.ts';
import { sameOrigin } from '../auth/csrf.ts';
import type { RouteDeps } from './index.ts';
import { store } from './loaders.ts';
import { revokeUserApp } from './oauth2/user-apps.ts';

// /settings/apps: the OAuth apps the signed-in user authorized, each with a "Revoke"
// button — the page form of GET and DELETE /api/v1/users/me/oauth2-apps[/{id}], running
// the same revocation (revokeUserApp) as the caller. Registered in the pages scope, whose
// parser reads urlencoded form bodies; the page keeps Referrer-Policy: same-origin, so its
// form posts arrive with this origin and the Origin check protects them, as on the other
// settings pages.

type RevokeRoute = { Params: { app: string } };

function userOf(request: FastifyRequest): string {
  // Only called once request.actor is known: every caller is a user.
  return (request.auth as { userId: string }).userId;
}

export function registerSettingsAppsPages(app: FastifyInstance, deps: RouteDeps): void {
  const { authz, config } = deps;
  const origin = new URL(config.accessUrl).origin;
  // The list comes from the user's own store; the apps' redirect URIs (which the consent
  // rows do not carry) are read as the authorization server, for those apps only.
  const apps = authz.as(systemActors.systemOAuth2);

  const signIn = (reply: FastifyReply) =>
    reply.redirect(`/login?redirect=${encodeURIComponent(SETTINGS_APPS_PATH)}`, 303);

  const render = async (request: FastifyRequest, reply: FastifyReply, status: number, error?: string) => {
    const authorized = await store(request, authz).listOAuth2AppsOfUser({ userId: userOf(request) });
    const views = await Promise.all(
      authorized.map(async (a): Promise<AuthorizedAppView> => {
        const row = await apps.getOAuth2AppById({ id: a.app_id });
        return {
          id: a.app_id,
          name: a.name,
          clientId: a.client_id,
          redirectUris: row?.redirect_uris ?? [],
          scopes: describeScope(a.scope),
          authorizedAt: a.created_at,
        };
      }),
    );
    return reply
      .code(status)
      .headers(pageHeaders('same-origin'))
      .send(settingsAppsPage({ apps: views, now: new Date(), error }));
  };

  app.get(SETTINGS_APPS_PATH, { preHandler: optionalAuth }, async (request, reply) => {
    if (!request.actor) return signIn(reply);
    return render(request, reply, 200);
  });

  app.post<RevokeRoute>(
    `${SETTINGS_APPS_PATH}/:app/revoke`,
    { preHandler: optionalAuth },
    async (request, reply) => {
      if (!request.actor) return signIn(reply);
      // Checked whatever the credential, as on the other settings pages: posted from
      // another site, this form would sign the user's apps out.
      if (!sameOrigin(request, origin)) return render(request, reply, 403, 'Cross-site request refused.');
      // Already revoked (another tab, the API) is no error: the page then no longer lists it.
      await revokeUserApp(store(request, authz), userOf(request), request.params.app);
      return reply.redirect(SETTINGS_APPS_PATH, 303);
    },
  );
}
