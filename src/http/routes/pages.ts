import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { homePage, loginPage, PAGE_CSP, safeRedirect } from '../../ui/index.ts';
import { ApiError } from '../api-error.ts';
import { optionalAuth } from '../auth/actor.ts';
import { sameOrigin } from '../auth/csrf.ts';
import type { RouteDeps } from './index.ts';
import { clearCookie, endSession, passwordLogin, sessionCookie } from './session.ts';

const CSS = readFileSync(new URL('../../ui/assets/latchkey.css', import.meta.url));

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply
    .code(status)
    .header('content-security-policy', PAGE_CSP)
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(body);
}

/** Server-rendered pages: sign in, a landing page, sign out. They work without JavaScript. */
export function registerPageRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { config } = deps;
  const secure = config.accessUrl.startsWith('https:');
  const origin = new URL(config.accessUrl).origin;

  // HTML forms post urlencoded bodies; parsed into a plain object of strings.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16_384 },
    (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );

  app.get('/ui/latchkey.css', async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(CSS),
  );

  app.get<{ Querystring: { redirect?: string } }>(
    '/login',
    { preHandler: optionalAuth },
    async (request, reply) => {
      const redirect = safeRedirect(request.query.redirect, config.accessUrl);
      if (request.actor) return reply.redirect(redirect, 303);
      return html(reply, 200, loginPage({ redirect }));
    },
  );

  app.post<{ Body: Record<string, string> | undefined }>('/login', async (request, reply) => {
    const form = typeof request.body === 'object' && request.body !== null ? request.body : {};
    const redirect = safeRedirect(form.redirect, config.accessUrl);
    const email = typeof form.email === 'string' ? form.email : '';
    // A form posted from another site would sign the visitor in to someone else's account.
    if (request.headers.origin !== undefined && !sameOrigin(request, origin)) {
      return html(reply, 403, loginPage({ redirect, email, error: 'Cross-site sign-in refused.' }));
    }
    try {
      const token = await passwordLogin(
        deps,
        email.slice(0, 320),
        String(form.password ?? '').slice(0, 1024),
      );
      reply.header('set-cookie', sessionCookie(token, config.sessionDuration, secure));
      return reply.redirect(redirect, 303);
    } catch (err) {
      if (err instanceof ApiError && err.status < 500)
        return html(reply, err.status, loginPage({ redirect, email, error: err.message }));
      throw err;
    }
  });

  app.get('/', { preHandler: optionalAuth }, async (request, reply) => {
    const user = request.auth?.user;
    if (!user) return reply.redirect('/login', 303);
    return html(reply, 200, homePage(user.username));
  });

  app.post('/logout', { preHandler: optionalAuth }, async (request, reply) => {
    await endSession(deps, request.auth);
    clearCookie(reply, secure);
    return reply.redirect('/login', 303);
  });
}
