import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthzStore } from '../../../authz/index.ts';
import type { Config } from '../../../config/index.ts';
import {
  deleteRegistration,
  OAuthError,
  type RegistrationDeps,
  readRegistration,
  registerClient,
  updateRegistration,
} from '../../../oauth2/index.ts';
import { OAUTH_BODY_LIMIT } from '../../error-handler.ts';

// OA-2: POST /oauth2/register (RFC 7591) and GET|PUT|DELETE /oauth2/register/{client_id}
// (RFC 7592). Anonymous, cross-origin (CORS), bodies bounded at 64 KiB, errors in OAuth
// form. Registration is rate-limited per client address (rateLimitOauth2Register; there is
// no client yet to count it against), management per client per address
// (rateLimitOauth2RegisterPerClient).

type ClientParams = { Params: { clientId: string } };

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

/** The registration access token (RFC 6750 Bearer; the scheme is case-insensitive). */
function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return typeof header === 'string' ? /^Bearer +([^\s]+) *$/i.exec(header)?.[1] : undefined;
}

/** Runs a management call; a refused token gets its RFC 6750 challenge. */
async function managed<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  call: (token: string | undefined) => Promise<T>,
) {
  const token = bearer(request);
  try {
    return await call(token);
  } catch (err) {
    if (err instanceof OAuthError && err.code === 'invalid_token') {
      reply.header(
        'www-authenticate',
        token === undefined ? 'Bearer realm="latchkey"' : 'Bearer realm="latchkey", error="invalid_token"',
      );
    }
    throw err;
  }
}

export function registerOAuth2RegisterRoutes(
  app: FastifyInstance,
  { authz, config }: { authz: AuthzStore; config: Config },
): void {
  const deps: RegistrationDeps = { authz, accessUrl: config.accessUrl };
  const oauth = { cors: 'oauth', errorFormat: 'oauth' } as const;
  const managing = { ...oauth, rateLimitPerClient: config.rateLimitOauth2RegisterPerClient };

  app.post(
    '/oauth2/register',
    { bodyLimit: OAUTH_BODY_LIMIT, config: { ...oauth, rateLimitPerMinute: config.rateLimitOauth2Register } },
    async (request, reply) =>
      reply
        .code(201)
        .headers(NO_STORE)
        .send(await registerClient(deps, request.body)),
  );

  app.get<ClientParams>('/oauth2/register/:clientId', { config: managing }, async (request, reply) => {
    const body = await managed(request, reply, (token) =>
      readRegistration(deps, request.params.clientId, token),
    );
    return reply.headers(NO_STORE).send(body);
  });

  app.put<ClientParams>(
    '/oauth2/register/:clientId',
    { bodyLimit: OAUTH_BODY_LIMIT, config: managing },
    async (request, reply) => {
      const body = await managed(request, reply, (token) =>
        updateRegistration(deps, request.params.clientId, token, request.body),
      );
      return reply.headers(NO_STORE).send(body);
    },
  );

  app.delete<ClientParams>('/oauth2/register/:clientId', { config: managing }, async (request, reply) => {
    await managed(request, reply, (token) => deleteRegistration(deps, request.params.clientId, token));
    return reply.code(204).send();
  });
}
