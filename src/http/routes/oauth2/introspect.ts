import type { FastifyInstance } from 'fastify';
import { introspectToken } from '../../../oauth2/index.ts';
import { OAUTH_BODY_LIMIT } from '../../error-handler.ts';
import type { OAuth2RouteDeps } from '../index.ts';
import { formParams, NO_STORE, OAUTH_ROUTE } from './token.ts';

/**
 * POST /oauth2/introspect (RFC 7662), for resource servers: confidential clients only.
 * Cross-origin like the other OAuth endpoints (it takes no cookie; the client's secret decides).
 */
export function registerIntrospectRoute(app: FastifyInstance, deps: OAuth2RouteDeps): void {
  const introspection = {
    clients: deps.clients,
    accessUrl: deps.config.accessUrl,
    jwt: deps.jwt,
    keys: deps.keyLookup,
  };
  app.post(
    '/oauth2/introspect',
    { bodyLimit: OAUTH_BODY_LIMIT, config: OAUTH_ROUTE },
    async (request, reply) => {
      const answer = await introspectToken(
        introspection,
        formParams(request.body),
        request.headers.authorization,
      );
      return reply.headers(NO_STORE).send(answer);
    },
  );
}
