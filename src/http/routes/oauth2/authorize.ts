import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { systemActors } from '../../../authz/index.ts';
import {
  type AuthorizationRequest,
  checkAuthorization,
  consentToken,
  deniedRedirect,
  describeScope,
  hasConsent,
  issueCode,
  isWithin,
  OAuthParams,
  ownResource,
  recordConsent,
  verifyConsentToken,
} from '../../../oauth2/index.ts';
import { authorizeErrorPage, consentPage, consentPageCsp, pageHeaders } from '../../../ui/index.ts';
import { optionalAuth } from '../../auth/actor.ts';
import { readCookie, SESSION_COOKIE } from '../../auth/token-source.ts';
import { OAUTH_BODY_LIMIT } from '../../error-handler.ts';
import type { OAuth2RouteDeps } from '../index.ts';
import { cookie } from '../session.ts';

// GET|POST /oauth2/authorize (OA-3): the authorization endpoint and the consent form it
// shows. GET validates the request (checkAuthorization), sends a visitor who is not signed
// in to /login and back, answers at once when the user already allowed this client as
// much, and otherwise shows the consent page. The page posts back here with the request's
// parameters and a CSRF token bound to the session and the request.
//
// `prompt` (OpenID Connect Core §3.1.2.1): `none` never shows a page (login_required /
// consent_required go back to the client instead), `consent` shows the consent page even
// when consent is remembered, `login` sends a signed-in user to sign in again (see
// REAUTH_COOKIE for how the way back does not loop).
//
// Pages send Referrer-Policy: no-referrer (the URL carries state and the PKCE challenge),
// so the form's POST arrives with `Origin: null`: the route opts into its own CSRF check
// (`csrfToken`), and a foreign Origin is still refused. No CORS here: these are pages.
// Rate limits (per caller, and per client per caller) answer with a page, never a
// redirect: the redirect URI may not have been checked yet (rateLimitPage).

/** The parameters of an authorization request, the only ones the consent form re-posts. */
const REQUEST_PARAMS = [
  'client_id',
  'redirect_uri',
  'response_type',
  'code_challenge',
  'code_challenge_method',
  'state',
  'scope',
  'resource',
] as const;

/**
 * prompt=login: the browser is sent to sign in again, and comes back to the same URL,
 * prompt=login and all. So that the way back does not start over, this cookie records
 * which session was signed in when re-authentication was asked for ('-' for none): the
 * demand is met once the browser comes back with a different session, i.e. after a sign-in
 * that happened since. It is one-time (cleared when met, so a later prompt=login asks
 * again) and short-lived, and no clock is compared (replicas' clocks may disagree).
 * HttpOnly and Lax like the session cookie, and scoped to this path.
 */
const REAUTH_COOKIE = 'latchkey_reauth';
const REAUTH_PATH = '/oauth2/authorize';
const REAUTH_MAX_AGE_MS = 10 * 60_000;
const NO_SESSION = '-';

interface Session {
  readonly userId: string;
  readonly username: string;
  /** The session token (the cookie): the consent form's CSRF token is keyed by it. */
  readonly token: string;
  /** The session's key id: what REAUTH_COOKIE compares. */
  readonly keyId: string;
}

/** Who is signed in through the browser session; API keys in headers do not count here. */
function sessionOf(request: FastifyRequest): Session | undefined {
  const auth = request.auth;
  if (auth?.source !== 'cookie') return undefined;
  const token = readCookie(request.headers.cookie, SESSION_COOKIE);
  return token
    ? { userId: auth.userId, username: auth.user.username, token, keyId: auth.apiKeyId ?? '' }
    : undefined;
}

function sendPage(reply: FastifyReply, status: number, body: string, csp?: string): FastifyReply {
  return reply.code(status).headers(pageHeaders('no-referrer', csp)).send(body);
}

function sendRedirect(reply: FastifyReply, location: string): FastifyReply {
  return reply
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .redirect(location, 303);
}

function requestFields(params: URLSearchParams): Array<[string, string]> {
  return REQUEST_PARAMS.flatMap((name) => params.getAll(name).map((v): [string, string] => [name, v]));
}

export function registerAuthorizeRoutes(app: FastifyInstance, deps: OAuth2RouteDeps): void {
  const issuer = deps.config.accessUrl;
  const origin = new URL(issuer).origin;
  const own = ownResource(issuer);
  const store = deps.authz.as(systemActors.systemOAuth2);
  const authorizeDeps = { clients: deps.clients, accessUrl: issuer };
  const secure = issuer.startsWith('https:');
  const reauthCookie = (value: string, maxAgeMs: number) =>
    cookie(REAUTH_COOKIE, value, { path: REAUTH_PATH, maxAgeMs, secure });
  const limits = {
    rateLimitPerMinute: deps.config.rateLimitOauth2Authorize,
    rateLimitPerClient: deps.config.rateLimitOauth2AuthorizePerClient,
    rateLimitPage: true,
  };

  /**
   * Whether a prompt=login demand is met: the browser carries the marker of an earlier
   * demand and a session other than the one it recorded (it signed in since).
   */
  function reauthenticated(request: FastifyRequest, session: Session | undefined): boolean {
    const marker = readCookie(request.headers.cookie, REAUTH_COOKIE);
    return session !== undefined && marker !== undefined && marker !== session.keyId;
  }

  function showConsent(
    reply: FastifyReply,
    session: Session,
    request: AuthorizationRequest,
    fields: Array<[string, string]>,
  ) {
    const body = consentPage({
      clientName: request.app.name || request.clientId,
      redirectUri: request.redirectUri,
      verified: request.app.origin === 'admin',
      username: session.username,
      scopes: describeScope(request.scope),
      otherResource: isWithin(request.resource, own) ? undefined : request.resource,
      fields,
      csrfToken: consentToken(session.token, request),
    });
    return sendPage(reply, 200, body, consentPageCsp(request.redirectUri));
  }

  app.get('/oauth2/authorize', { preHandler: optionalAuth, config: limits }, async (request, reply) => {
    const q = request.url.indexOf('?');
    const query = new URLSearchParams(q < 0 ? '' : request.url.slice(q + 1));
    const check = await checkAuthorization(authorizeDeps, new OAuthParams(query));
    if (check.kind === 'page') return sendPage(reply, 400, authorizeErrorPage(check.message));
    if (check.kind === 'redirect') return sendRedirect(reply, check.location);
    const authorization = check.request;
    const session = sessionOf(request);
    const signIn = `/login?redirect=${encodeURIComponent(request.url)}`;

    if (authorization.prompt.has('none')) {
      if (!session) return sendRedirect(reply, deniedRedirect(issuer, authorization, 'login_required'));
      if (!(await hasConsent(store, session.userId, authorization))) {
        return sendRedirect(reply, deniedRedirect(issuer, authorization, 'consent_required'));
      }
      return sendRedirect(reply, await issueCode(store, issuer, authorization, session.userId));
    }
    if (authorization.prompt.has('login')) {
      if (!reauthenticated(request, session)) {
        // The login page shows its form even to a signed-in user when asked to (prompt=login).
        reply.header('set-cookie', reauthCookie(session?.keyId ?? NO_SESSION, REAUTH_MAX_AGE_MS));
        return sendRedirect(reply, `${signIn}&prompt=login`);
      }
      reply.header('set-cookie', reauthCookie('', 0));
    }
    if (!session) return sendRedirect(reply, signIn);
    if (!authorization.prompt.has('consent') && (await hasConsent(store, session.userId, authorization))) {
      return sendRedirect(reply, await issueCode(store, issuer, authorization, session.userId));
    }
    return showConsent(reply, session, authorization, requestFields(query));
  });

  app.post(
    '/oauth2/authorize',
    {
      preHandler: optionalAuth,
      bodyLimit: OAUTH_BODY_LIMIT,
      config: { ...limits, csrfToken: true },
    },
    async (request, reply) => {
      const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
      const fields = requestFields(form);
      const check = await checkAuthorization(authorizeDeps, new OAuthParams(new URLSearchParams(fields)));
      if (check.kind === 'page') return sendPage(reply, 400, authorizeErrorPage(check.message));
      if (check.kind === 'redirect') return sendRedirect(reply, check.location);
      const session = sessionOf(request);
      if (!session) {
        const again = `/oauth2/authorize?${new URLSearchParams(fields)}`;
        return sendRedirect(reply, `/login?redirect=${encodeURIComponent(again)}`);
      }
      const claimed = request.headers.origin;
      if (claimed !== undefined && claimed !== origin && claimed !== 'null') {
        return sendPage(reply, 403, authorizeErrorPage('The consent form was sent from another site.'));
      }
      const decisions = form.getAll('decision');
      const tokens = form.getAll('csrf_token');
      if (tokens.length !== 1 || !verifyConsentToken(tokens[0], session.token, check.request)) {
        return sendPage(
          reply,
          403,
          authorizeErrorPage(
            'This consent form has expired or was not shown to you. Start again from the app.',
          ),
        );
      }
      if (decisions.length === 1 && decisions[0] === 'allow') {
        await recordConsent(store, session.userId, check.request);
        return sendRedirect(reply, await issueCode(store, issuer, check.request, session.userId));
      }
      if (decisions.length === 1 && decisions[0] === 'deny') {
        return sendRedirect(reply, deniedRedirect(issuer, check.request));
      }
      return showConsent(reply, session, check.request, fields);
    },
  );
}
