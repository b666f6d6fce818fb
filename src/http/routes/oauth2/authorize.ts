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
import { authorizeErrorPage, consentPage, consentPageCsp, PAGE_CSP } from '../../../ui/index.ts';
import { optionalAuth } from '../../auth/actor.ts';
import { readCookie, SESSION_COOKIE } from '../../auth/token-source.ts';
import { OAUTH_BODY_LIMIT } from '../../error-handler.ts';
import type { OAuth2RouteDeps } from '../index.ts';

// GET|POST /oauth2/authorize (OA-3): the authorization endpoint and the consent form it
// shows. GET validates the request (checkAuthorization), sends a visitor who is not signed
// in to /login and back, answers at once when the user already allowed this client as
// much, and otherwise shows the consent page. The page posts back here with the request's
// parameters and a CSRF token bound to the session and the request.
//
// Pages send Referrer-Policy: no-referrer (the URL carries state and the PKCE challenge),
// so the form's POST arrives with `Origin: null`: the route opts into its own CSRF check
// (`csrfToken`), and a foreign Origin is still refused. No CORS here: these are pages.

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

interface Session {
  readonly userId: string;
  readonly username: string;
  /** The session token (the cookie): the consent form's CSRF token is keyed by it. */
  readonly token: string;
}

/** Who is signed in through the browser session; API keys in headers do not count here. */
function sessionOf(request: FastifyRequest): Session | undefined {
  const auth = request.auth;
  if (auth?.source !== 'cookie') return undefined;
  const token = readCookie(request.headers.cookie, SESSION_COOKIE);
  return token ? { userId: auth.userId, username: auth.user.username, token } : undefined;
}

function sendPage(reply: FastifyReply, status: number, body: string, csp = PAGE_CSP): FastifyReply {
  return reply
    .code(status)
    .header('content-security-policy', csp)
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(body);
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

  app.get('/oauth2/authorize', { preHandler: optionalAuth }, async (request, reply) => {
    const q = request.url.indexOf('?');
    const query = new URLSearchParams(q < 0 ? '' : request.url.slice(q + 1));
    const check = await checkAuthorization(authorizeDeps, new OAuthParams(query));
    if (check.kind === 'page') return sendPage(reply, 400, authorizeErrorPage(check.message));
    if (check.kind === 'redirect') return sendRedirect(reply, check.location);
    const session = sessionOf(request);
    if (!session) return sendRedirect(reply, `/login?redirect=${encodeURIComponent(request.url)}`);
    if (await hasConsent(store, session.userId, check.request)) {
      return sendRedirect(reply, await issueCode(store, issuer, check.request, session.userId));
    }
    return showConsent(reply, session, check.request, requestFields(query));
  });

  app.post(
    '/oauth2/authorize',
    { preHandler: optionalAuth, bodyLimit: OAUTH_BODY_LIMIT, config: { csrfToken: true } },
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
