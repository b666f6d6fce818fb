import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { type OidcFlow, OidcLoginError } from '../../apikeys/index.ts';
import { homePage, loginPage, PAGE_CSP, safeRedirect } from '../../ui/index.ts';
import { ApiError } from '../api-error.ts';
import { optionalAuth } from '../auth/actor.ts';
import { sameOrigin } from '../auth/csrf.ts';
import { readCookie } from '../auth/token-source.ts';
import type { RouteDeps } from './index.ts';
import { clearCookie, cookie, endSession, passwordLogin, sessionCookie } from './session.ts';

const CSS = readFileSync(new URL('../../ui/assets/latchkey.css', import.meta.url));

/** A server-rendered page, under the strict page CSP; never cached (pages show the user's state). */
export function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply
    .code(status)
    .header('content-security-policy', PAGE_CSP)
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(body);
}

const OIDC_FLOW_COOKIE = 'latchkey_oidc_flow';

function oidcFlowCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  // Path-scoped to the sign-in flow: no other request carries it.
  return cookie(OIDC_FLOW_COOKIE, value, { path: '/login/oidc', maxAgeMs: maxAgeSeconds * 1000, secure });
}

function readFlowCookie(header: string | undefined): OidcFlow | undefined {
  const value = readCookie(header, OIDC_FLOW_COOKIE);
  if (!value || value.length > 4096) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Record<string, unknown>;
    const { state, nonce, verifier, returnTo } = parsed;
    if ([state, nonce, verifier, returnTo].every((v) => typeof v === 'string')) {
      return { state, nonce, verifier, returnTo } as OidcFlow;
    }
  } catch {
    // A cookie we did not write: treated as absent.
  }
  return undefined;
}

/** Server-rendered pages: sign in, a landing page, sign out. They work without JavaScript. */
export function registerPageRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { config } = deps;
  const secure = config.accessUrl.startsWith('https:');
  const origin = new URL(config.accessUrl).origin;
  const oidcText = deps.oidcLogin.enabled ? config.oidcSignInText : undefined;

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
      return html(reply, 200, loginPage({ redirect, oidcText }));
    },
  );

  app.post<{ Body: Record<string, string> | undefined }>('/login', async (request, reply) => {
    const form = typeof request.body === 'object' && request.body !== null ? request.body : {};
    const redirect = safeRedirect(form.redirect, config.accessUrl);
    const email = typeof form.email === 'string' ? form.email : '';
    // A form posted from another site would sign the visitor in to someone else's account.
    if (request.headers.origin !== undefined && !sameOrigin(request, origin)) {
      return html(reply, 403, loginPage({ redirect, email, oidcText, error: 'Cross-site sign-in refused.' }));
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
        return html(reply, err.status, loginPage({ redirect, email, oidcText, error: err.message }));
      throw err;
    }
  });

  // OIDC sign-in: out to the provider with state, nonce and PKCE kept in a short-lived
  // HttpOnly cookie (the callback must come back to the same browser), then back here.
  app.get<{ Querystring: { redirect?: string } }>('/login/oidc', async (request, reply) => {
    const redirect = safeRedirect(request.query.redirect, config.accessUrl);
    try {
      const { url, flow } = await deps.oidcLogin.start(redirect);
      reply.header(
        'set-cookie',
        oidcFlowCookie(Buffer.from(JSON.stringify(flow)).toString('base64url'), 600, secure),
      );
      return reply.redirect(url.href, 302);
    } catch (err) {
      if (!(err instanceof OidcLoginError)) throw err;
      const status = err.code === 'not_configured' ? 404 : 503;
      return html(reply, status, loginPage({ redirect, oidcText, error: err.message }));
    }
  });

  app.get('/login/oidc/callback', async (request, reply) => {
    const query = request.url.split('?')[1] ?? '';
    const flow = readFlowCookie(request.headers.cookie);
    reply.header('set-cookie', oidcFlowCookie('', 0, secure));
    if (!flow) {
      return html(
        reply,
        400,
        loginPage({
          redirect: '/',
          oidcText,
          error: 'The sign-in took too long or started elsewhere; please try again.',
        }),
      );
    }
    try {
      const { token } = await deps.oidcLogin.finish(query, flow);
      reply.header('set-cookie', [
        oidcFlowCookie('', 0, secure),
        sessionCookie(token, config.sessionDuration, secure),
      ]);
      return reply.redirect(safeRedirect(flow.returnTo, config.accessUrl), 303);
    } catch (err) {
      if (!(err instanceof OidcLoginError)) throw err;
      const status =
        err.code === 'suspended' || err.code === 'no_account' ? 403 : err.code === 'conflict' ? 409 : 400;
      return html(reply, status, loginPage({ redirect: flow.returnTo, oidcText, error: err.message }));
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
