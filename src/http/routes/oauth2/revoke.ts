import type { FastifyInstance } from 'fastify';
import { revokeToken } from '../../../oauth2/index.ts';
import { OAUTH_BODY_LIMIT } from '../../error-handler.ts';
import type { OAuth2RouteDeps } from '../index.ts';
import { formParams, NO_STORE, OAUTH_ROUTE } from './token.ts';

/** POST /oauth2/revoke (RFC 7009): 200 for every token, known or not, once the client is authenticated. */
export function registerRevokeRoute(app: FastifyInstance, deps: OAuth2RouteDeps): void {
  app.post('/oauth2/revoke', { bodyLimit: OAUTH_BODY_LIMIT, config: OAUTH_ROUTE }, async (request, reply) => {
    await revokeToken(deps, formParams(request.body), request.headers.authorization);
    return reply.headers(NO_STORE).code(200).send();
  });
}
