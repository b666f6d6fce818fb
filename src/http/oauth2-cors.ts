import type { FastifyInstance } from 'fastify';

// OA-6: CORS for the OAuth endpoints a browser-based client calls with fetch (metadata,
// register, token, revoke, introspect) and, later, the 401s of /mcp. Opt a route in with
// `config: { cors: 'oauth' }`; this plugin then:
// - adds `Access-Control-Allow-Origin: *` to every answer of the route, errors included
//   (a browser client must be able to read a 401, a 404 or a 429), and exposes
//   WWW-Authenticate, or the client cannot read resource_metadata from a challenge;
// - registers an OPTIONS route for the same URL answering the preflight with 204.
// No credentials are ever allowed: these endpoints are not cookie-authenticated, and `*`
// with credentials would hand the session to any site. Pages (/oauth2/authorize, the
// consent form) must NOT opt in: they are navigated to, never fetched cross-origin.

export type CorsPolicy = 'oauth';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Cross-origin access for browser clients (see src/http/oauth2-cors.ts). */
    cors?: CorsPolicy;
  }
}

const ALLOW_HEADERS = 'authorization, content-type, mcp-protocol-version';
const EXPOSE_HEADERS = 'www-authenticate';
/** Browsers cap it anyway (Chromium at 2 h); the answer never changes while running. */
const MAX_AGE_SECONDS = '7200';

/** Register before the routes (the onRoute hook must see them) and before rate limits (429s get CORS too). */
export function registerOAuthCors(app: FastifyInstance): void {
  // Methods by URL, collected as routes are added, for Access-Control-Allow-Methods.
  const methods = new Map<string, Set<string>>();

  app.addHook('onRoute', (route) => {
    if (route.config?.cors !== 'oauth') return;
    const list = Array.isArray(route.method) ? route.method : [route.method];
    const known = methods.get(route.url);
    const set = known ?? new Set<string>(['OPTIONS']);
    for (const m of list) set.add(m);
    methods.set(route.url, set);
    if (known || list.includes('OPTIONS')) return;
    app.options(route.url, { config: { cors: 'oauth' } }, (_request, reply) => {
      const allowed = methods.get(route.url) ?? new Set(['OPTIONS']);
      reply
        .header('access-control-allow-methods', [...allowed].join(', '))
        .header('access-control-allow-headers', ALLOW_HEADERS)
        .header('access-control-max-age', MAX_AGE_SECONDS);
      return reply.code(204).send();
    });
  });

  app.addHook('onRequest', (request, reply, done) => {
    if (request.routeOptions.config.cors === 'oauth') {
      reply.header('access-control-allow-origin', '*');
      reply.header('access-control-expose-headers', EXPOSE_HEADERS);
    }
    done();
  });
}
