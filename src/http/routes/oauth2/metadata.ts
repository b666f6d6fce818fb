import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../../config/index.ts';
import { type JwtAccessTokens, wellKnownDocument } from '../../../oauth2/index.ts';
import { errorBody } from '../../api-error.ts';

// OA-1: discovery. Every well-known path is answered here, by one catch-all route per
// place a client may look (the root, and under the access URL's path when it has one),
// so a path we do not serve is a 404 in JSON with CORS, never a 5xx or an HTML page.
// Documents come from config.accessUrl alone (see src/oauth2/metadata.ts).

/** Clients re-read metadata now and then; a few minutes of caching spares the server. */
const CACHE_CONTROL = 'public, max-age=300';

export function registerOAuth2MetadataRoutes(
  app: FastifyInstance,
  { config, jwt }: { config: Config; jwt: JwtAccessTokens },
): void {
  const accessUrl = config.accessUrl;
  const prefix = new URL(accessUrl).pathname.replace(/\/$/, '');
  const options = { config: { cors: 'oauth' as const } };

  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '';
    // The keys JWT access tokens are signed with (RFC 9068), published before they sign and
    // after they stop (src/oauth2/signing-keys.ts); empty until the first JWT is issued.
    if (path === '/.well-known/jwks.json' || path === `${prefix}/.well-known/jwks.json`) {
      return reply.header('cache-control', CACHE_CONTROL).send(await jwt.jwks());
    }
    const document = wellKnownDocument(accessUrl, path);
    if (!document) {
      return reply.code(404).send(errorBody('Not found.', `No well-known document at ${path}`));
    }
    return reply.header('cache-control', CACHE_CONTROL).send(document);
  };

  app.get('/.well-known/*', options, serve);
  if (prefix !== '') app.get(`${prefix}/.well-known/*`, options, serve);
}
