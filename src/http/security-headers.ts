import type { FastifyInstance } from 'fastify';

/** Headers every response carries; pages add their own CSP on top. */
export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff');
    // Pages set their own (same-origin): under no-referrer a browser sends `Origin: null`
    // on form posts, and the CSRF check needs the real origin.
    if (!reply.hasHeader('referrer-policy')) reply.header('referrer-policy', 'no-referrer');
    done(null, payload);
  });
}
