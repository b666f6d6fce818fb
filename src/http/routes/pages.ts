import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type OidcFlow, OidcLoginError } from '../../apikeys/index.ts';
import { homePage, type LoginPageInput, loginPage, pageHeaders, safeRedirect } from '../../ui/index.ts';
import { ApiError } from '../api-error.ts';
import { optionalAuth } from '../auth/actor.ts';
import { readCookie } from '../auth/token-source.ts';
import type { RouteDeps } from './index.ts';
import {
  isLoginCookieValue,
  LOGIN_CSRF_COOKIE,
  LOGIN_FORM_TTL_MS,
  loginFormToken,
  newLoginCookieValue,
  verifyLoginFormToken,
} from './login-csrf.ts';
import { clearCookie, cookie, endSession, passwordLogin, sessionCookie } from './session.ts';
import { registerSettingsAppsPages } from './settings-apps.ts';

const CSS = readFileSync(new URL('../../ui/assets/latchkey.css', import.meta.url));

/** A server-rendered page, under the strict page CSP; never cached (pages show the user's state). */
export function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).headers(pageHeaders('same-origin')).send(body);
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

/**
 * Server-rendered pages: sign in, a landing page, sign out, and the settings pages that
 * live in this scope (authorized apps). They work without JavaScript.
 */
export function registerPageRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { config } = deps;
  const secure = config.accessUrl.startsWith('https:');
  const origin = new URL(config.accessUrl).origin;
  const oidcText = deps.oidcLogin.enabled ? config.oidcSignInText : undefined;

  /**
   * The sign-in page, with `Referrer-Policy: no-referrer` (its redirect parameter holds the
   * authorization request) and a form token bound to the pre-login cookie, which is set
   * here when the browser has none (see login-csrf.ts).
   */
  const login = (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    input: Omit<LoginPageInput, 'csrfToken' | 'oidcText'>,
  ): FastifyReply => {
    const held = readCookie(request.headers.cookie, LOGIN_CSRF_COOKIE);
    const value = isLoginCookieValue(held) ? held : newLoginCookieValue();
    // Set again when already held, so the cookie lives as long as the newest form.
    reply.header(
      'set-cookie',
      cookie(LOGIN_CSRF_COOKIE, value, { path: '/login', maxAgeMs: LOGIN_FORM_TTL_MS, secure }),
    );
    return reply
      .code(status)
      .headers(pageHeaders('no-referrer'))
      .send(loginPage({ ...input, oidcText, csrfToken: loginFormToken(value) }));
  };

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

  // A signed-in visitor is sent on to the redirect target, unless the authorization
  // endpoint asked for a fresh sign-in (prompt=login; it recognises the new session).
  app.get<{ Querystring: { redirect?: string; prompt?: string } }>(
    '/login',
    { preHandler: optionalAuth },
    async (request, reply) => {
      const redirect = safeRedirect(request.query.redirect, config.accessUrl);
      const again = request.query.prompt === 'login';
      if (request.actor && !again) return reply.redirect(redirect, 303);
      return login(request, reply, 200, { redirect, again: again && request.actor !== undefined });
    },
  );

  // csrfToken: a signed-in user signing in again (prompt=login) posts with the session
  // cookie and `Origin: null`; the token below is the check then, not the global one.
  app.post<{ Body: Record<string, string> | undefined }>(
    '/login',
    { config: { csrfToken: true } },
    async (request, reply) => {
      const form = typeof request.body === 'object' && request.body !== null ? request.body : {};
      const redirect = safeRedirect(form.redirect, config.accessUrl);
      const email = typeof form.email === 'string' ? form.email : '';
      // A form posted from another site would sign the visitor in to someone else's account.
      // `Origin: null` is this page under no-referrer, or an attacker hiding where the post
      // comes from (sandboxed iframe, data: URL): only the form token tells them apart.
      // Clients that send no Origin at all are not browsers.
      const claimed = request.headers.origin;
      if (claimed === 'null') {
        const held = readCookie(request.headers.cookie, LOGIN_CSRF_COOKIE);
        if (!verifyLoginFormToken(form.csrf_token, held)) {
          return login(request, reply, 403, {
            redirect,
            email,
            error: 'This sign-in form has expired or was not shown by Latchkey. Please sign in again.',
          });
        }
      } else if (claimed !== undefined && claimed !== origin) {
        return login(request, reply, 403, { redirect, email, error: 'Cross-site sign-in refused.' });
      }
      try {
        const token = await passwordLogin(
          deps,
          email.slice(0, 320),
          String(form.password ?? '').slice(0, 1024),
        );
        // Signing in again replaces the browser's session: the one it had ends here.
        if (request.auth?.source === 'cookie') await endSession(deps, request.auth);
        reply.header('set-cookie', sessionCookie(token, config.sessionDuration, secure));
        return reply.redirect(redirect, 303);
      } catch (err) {
        if (err instanceof ApiError && err.status < 500)
          return login(request, reply, err.status, { redirect, email, error: err.message });
        throw err;
      }
    },
  );

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
      return login(request, reply, status, { redirect, error: err.message });
    }
  });

  app.get('/login/oidc/callback', async (request, reply) => {
    const query = request.url.split('?')[1] ?? '';
    const flow = readFlowCookie(request.headers.cookie);
    reply.header('set-cookie', oidcFlowCookie('', 0, secure));
    if (!flow) {
      return login(request, reply, 400, {
        redirect: '/',
        error: 'The sign-in took too long or started elsewhere; please try again.',
      });
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
      return login(request, reply, status, { redirect: flow.returnTo, error: err.message });
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

  registerSettingsAppsPages(app, deps);
}
