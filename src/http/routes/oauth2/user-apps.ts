import type { FastifyInstance } from 'fastify';
import type { Store } from '../../../db/index.ts';
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

/**
 * Revokes an app the user authorized: forgets the consent and deletes the app's codes,
 * refresh tokens and access tokens for this user (every replica's key cache hears of it).
 * False when the user had not authorized it. The API's DELETE and the "Revoke" button of
 * /settings/apps both come here, with the caller's authorized store.
 */
export async function revokeUserApp(store: Store, userId: string, appId: string): Promise<boolean> {
  if (!isUuid(appId)) return false;
  const revoked = await store.deleteOAuth2GrantsOfUserApp({ userId, appId });
  return revoked.found || revoked.keys.length > 0;
}

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
      if (!(await revokeUserApp(store(request, authz), user.id, request.params.app))) {
        throw new ApiError(404, 'Not found.', 'This user has not authorized that app.');
      }
      return reply.code(204).send();
    },
  );
}
