import type { FastifyInstance } from 'fastify';
import { isUuid } from '../../../identity/index.ts';
import { describeScope } from '../../../oauth2/index.ts';
import { ApiError } from '../../api-error.ts';
import { requireAuth } from '../../auth/actor.ts';
import type { OAuth2RouteDeps } from '../index.ts';
import { loaded, loadUser, store } from '../loaders.ts';

// GET /api/v1/users/{user}/oauth2-apps: the apps a user authorized (remembered consent).
// DELETE /api/v1/users/{user}/oauth2-apps/{app}: revokes one: its consent, codes, refresh
// tokens and access tokens, at once on every replica. `{user}` may be `me`; a user sees
// and revokes their own, an owner anyone's.

type UserParams = { Params: { user: string } };

export function registerOAuth2UserAppRoutes(app: FastifyInstance, { authz }: OAuth2RouteDeps): void {
  const withUser = { preHandler: [requireAuth, loadUser(authz)] };

  app.get<UserParams>('/api/v1/users/:user/oauth2-apps', withUser, async (request) => {
    const user = loaded(request.targetUser);
    const apps = await store(request, authz).listOAuth2AppsOfUser({ userId: user.id });
    return {
      apps: apps.map((a) => ({
        id: a.app_id,
        client_id: a.client_id,
        name: a.name,
        scope: a.scope,
        scopes: describeScope(a.scope),
        active_tokens: a.active_tokens,
        authorized_at: a.created_at.toISOString(),
        updated_at: a.updated_at.toISOString(),
      })),
    };
  });

  app.delete<{ Params: { user: string; app: string } }>(
    '/api/v1/users/:user/oauth2-apps/:app',
    withUser,
    async (request, reply) => {
      const user = loaded(request.targetUser);
      const notFound = new ApiError(404, 'Not found.', 'This user has not authorized that app.');
      if (!isUuid(request.params.app)) throw notFound;
      const revoked = await store(request, authz).deleteOAuth2GrantsOfUserApp({
        userId: user.id,
        appId: request.params.app,
      });
      if (!revoked.found && revoked.keys.length === 0) throw notFound;
      return reply.code(204).send();
    },
  );
}
