import type { FastifyInstance, FastifyReply } from 'fastify';
import { issueKey, verifyPassword } from '../../apikeys/index.ts';
import { systemActors } from '../../authz/index.ts';
import { ApiError } from '../api-error.ts';
import { optionalAuth } from '../auth/actor.ts';
import { sameOrigin } from '../auth/csrf.ts';
import { SESSION_COOKIE } from '../auth/token-source.ts';
import type { AuthOutcome } from '../auth/types.ts';
import type { RouteDeps } from './index.ts';
import { loginBody } from './schemas.ts';

const WRONG = 'Incorrect email or password.';

/**
 * A Set-Cookie value for Latchkey's own cookies: never readable by scripts, sent on
 * top-level navigations from other sites (Lax: a provider redirecting back must carry it)
 * but not on their sub-requests, and Secure whenever the access URL is https.
 */
export function cookie(
  name: string,
  value: string,
  o: { path: string; maxAgeMs: number; secure: boolean },
): string {
  const attrs = [
    `${name}=${value}`,
    `Path=${o.path}`,
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${Math.floor(o.maxAgeMs / 1000)}`,
  ];
  if (o.secure) attrs.push('Secure');
  return attrs.join('; ');
}

export function sessionCookie(token: string, maxAgeMs: number, secure: boolean): string {
  return cookie(SESSION_COOKIE, token, { path: '/', maxAgeMs, secure });
}

/**
 * Checks an email and password and mints a session. The lookups run as systemAuthn and
 * the session is minted by systemSessions: there is no caller yet, the password is what
 * authorizes this. Throws ApiError 401 (one message for every way of being wrong) or 403.
 */
export async function passwordLogin(
  { authz, config }: RouteDeps,
  email: string,
  password: string,
): Promise<string> {
  const user = await authz.as(systemActors.systemAuthn).getUserByEmail({ email });
  const ok = await verifyPassword(user?.login_type === 'password' ? user.hashed_password : null, password);
  if (!user || !ok) throw new ApiError(401, WRONG);
  if (user.status === 'suspended') throw new ApiError(403, 'The account is suspended.');
  const issued = await issueKey(authz.as(systemActors.systemSessions), {
    userId: user.id,
    name: '',
    loginType: 'password',
    scopes: ['latchkey:all'],
    allowList: ['*:*'],
    lifetimeMs: config.sessionDuration,
    now: new Date(),
  });
  return issued.token;
}

/** Ends the session that made the request, if it came with one. */
export async function endSession({ authz }: RouteDeps, auth: AuthOutcome | undefined): Promise<void> {
  // A named API key is not a session: signing out must not revoke it.
  if (auth?.apiKeyId && (auth.loginType === 'password' || auth.loginType === 'oidc')) {
    await authz.as(systemActors.systemSessions).deleteApiKey({ id: auth.apiKeyId });
  }
}

export function clearCookie(reply: FastifyReply, secure: boolean): void {
  reply.header('set-cookie', sessionCookie('', 0, secure));
}

export function registerSessionRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { config } = deps;
  const secure = config.accessUrl.startsWith('https:');
  const origin = new URL(config.accessUrl).origin;

  app.post('/api/v1/users/login', async (request, reply) => {
    // A browser posting from another site would sign its user in to the attacker's
    // account (login CSRF); clients that send no Origin (CLIs, SDKs) are not browsers.
    if (request.headers.origin !== undefined && !sameOrigin(request, origin)) {
      throw new ApiError(403, 'Cross-site request refused.');
    }
    const body = loginBody.parse(request.body);
    const token = await passwordLogin(deps, body.email, body.password);
    reply.header('set-cookie', sessionCookie(token, config.sessionDuration, secure));
    return { session_token: token };
  });

  app.post('/api/v1/users/logout', { preHandler: optionalAuth }, async (request, reply) => {
    await endSession(deps, request.auth);
    clearCookie(reply, secure);
    return { message: 'Signed out.' };
  });
}
