import type { FastifyInstance } from 'fastify';
import { hashPassword } from '../../apikeys/index.ts';
import type { AuthzStore } from '../../authz/index.ts';
import { createUser, deleteUser, setUserSiteRoles, setUserStatus } from '../../identity/index.ts';
import { requireAuth } from '../auth/actor.ts';
import { loaded, loadUser, store } from './loaders.ts';
import { createUserBody, listUsersQuery, rolesBody, statusBody } from './schemas.ts';
import { userJson } from './serialize.ts';

type UserParams = { Params: { user: string } };

export function registerUserRoutes(app: FastifyInstance, authz: AuthzStore): void {
  const withUser = { preHandler: [requireAuth, loadUser(authz)] };

  app.get('/api/v1/users', { preHandler: requireAuth }, async (request) => {
    const q = listUsersQuery.parse(request.query);
    const users = await store(request, authz).listUsers({
      includeSystem: q.include_system === 'true',
      search: q.q,
      status: q.status,
      limit: q.limit,
      afterId: q.after_id,
    });
    return { users: users.map(userJson) };
  });

  app.post('/api/v1/users', { preHandler: requireAuth }, async (request, reply) => {
    const body = createUserBody.parse(request.body);
    const user = await createUser(store(request, authz), {
      email: body.email,
      username: body.username,
      name: body.name,
      siteRoles: body.roles,
      hashedPassword: body.password === undefined ? null : await hashPassword(body.password),
    });
    return reply.code(201).send(userJson(user));
  });

  // Synchronous: the loader did the work; an async handler would add a promise per call.
  app.get<UserParams>('/api/v1/users/:user', withUser, (request) => userJson(loaded(request.targetUser)));

  app.put<UserParams>('/api/v1/users/:user/roles', withUser, async (request) => {
    const { roles } = rolesBody.parse(request.body);
    return userJson(await setUserSiteRoles(store(request, authz), loaded(request.targetUser), roles));
  });

  app.put<UserParams>('/api/v1/users/:user/status', withUser, async (request) => {
    const { status } = statusBody.parse(request.body);
    return userJson(await setUserStatus(store(request, authz), loaded(request.targetUser), status));
  });

  app.delete<UserParams>('/api/v1/users/:user', withUser, async (request, reply) => {
    await deleteUser(store(request, authz), loaded(request.targetUser));
    return reply.code(204).send();
  });
}
