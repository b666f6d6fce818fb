import type { FastifyInstance } from 'fastify';
import { findUserKey, issueKey, parseScopes, publicScopes } from '../../apikeys/index.ts';
import { formatAllowList, parseAllowList } from '../../authz/index.ts';
import { type ApiKey, SQLSTATE, sqlState } from '../../db/index.ts';
import { IdentityError } from '../../identity/index.ts';
import { ApiError } from '../api-error.ts';
import { requireAuth } from '../auth/actor.ts';
import type { RouteDeps } from './index.ts';
import { loaded, loadUser, store } from './loaders.ts';
import { createKeyBody } from './schemas.ts';

type UserParams = { Params: { user: string } };

/** A key as listed: never its secret or hash. */
export function keyJson(k: ApiKey) {
  return {
    id: k.id,
    name: k.name,
    user_id: k.user_id,
    login_type: k.login_type,
    scopes: k.scopes,
    allow_list: k.allow_list,
    created_at: k.created_at.toISOString(),
    expires_at: k.expires_at.toISOString(),
    last_used: k.last_used.toISOString(),
  };
}

export function registerKeyRoutes(app: FastifyInstance, { authz, config }: RouteDeps): void {
  const withUser = { preHandler: [requireAuth, loadUser(authz)] };

  app.get('/api/v1/auth/scopes', async () => ({ scopes: publicScopes() }));

  app.get<UserParams>('/api/v1/users/:user/keys', withUser, async (request) => {
    const user = loaded(request.targetUser);
    const keys = await store(request, authz).listApiKeysOfUser({ userId: user.id, loginType: 'token' });
    return { keys: keys.map(keyJson) };
  });

  app.post<UserParams>('/api/v1/users/:user/keys', withUser, async (request, reply) => {
    const body = createKeyBody.parse(request.body);
    const user = loaded(request.targetUser);
    // `scope` (singular) is what older clients send; it means the same as a one-item list.
    const scopes = parseScopes(body.scopes ?? (body.scope === undefined ? [] : [body.scope]));
    if (!scopes.ok) throw new ApiError(400, 'Invalid scopes.', scopes.error);
    const allowList = parseAllowList(body.allow_list ?? []);
    if (!allowList.ok) throw new ApiError(400, 'Invalid allow_list.', allowList.error);
    const lifetimeMs =
      body.lifetime_seconds === undefined ? config.defaultTokenLifetime : body.lifetime_seconds * 1000;
    if (lifetimeMs > config.maxTokenLifetime) {
      throw new ApiError(
        400,
        'lifetime_seconds is longer than this server allows.',
        `at most ${config.maxTokenLifetime / 1000} seconds`,
      );
    }
    try {
      const issued = await issueKey(store(request, authz), {
        userId: user.id,
        name: body.name,
        loginType: 'token',
        scopes: scopes.scopes,
        allowList: formatAllowList(allowList.entries),
        lifetimeMs,
        now: new Date(),
      });
      const { id, name, scopes: s, allow_list, expires_at } = keyJson(issued.row);
      return reply.code(201).send({ id, name, key: issued.token, scopes: s, allow_list, expires_at });
    } catch (err) {
      if (sqlState(err) === SQLSTATE.uniqueViolation)
        throw new IdentityError('conflict', `A key named "${body.name}" exists.`);
      throw err;
    }
  });

  app.get<{ Params: { user: string; name: string } }>(
    '/api/v1/users/:user/keys/:name',
    withUser,
    async (request) => {
      const user = loaded(request.targetUser);
      const key = await store(request, authz).getApiKeyByName({ userId: user.id, name: request.params.name });
      if (!key) throw new IdentityError('not_found', `No key named "${request.params.name}".`);
      return keyJson(key);
    },
  );

  app.delete<{ Params: { user: string; id: string } }>(
    '/api/v1/users/:user/keys/:id',
    withUser,
    async (request, reply) => {
      const user = loaded(request.targetUser);
      const s = store(request, authz);
      const key = await findUserKey(s, user.id, request.params.id);
      if (!key) throw new IdentityError('not_found', 'No such key.');
      await s.deleteApiKey({ id: key.id });
      return reply.code(204).send();
    },
  );
}
