import type { FastifyInstance, FastifyReply } from 'fastify';
import { issueKey, verifyPassword } from '../../apikeys/index.ts';
import { systemActors } from '../../authz/index.ts';
import { ApiError } from '../api-error.ts';
import { optionalAuth } from '../auth/actor.ts';
import { sameOrigin } from '../auth/csrf.ts';
import { SESSION_COOKIE } from '../auth/token-source.ts';
import type { RouteDeps } from './index.ts';
import { loginBody } from './schemas.ts';

const WRONG = 'Incorrect email or password.';

export function sessionCookie(token: string, maxAgeMs: number, secure: boolean): string {
  const attrs = [
    `${SESSION_COOKIE}=${token}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${Math.floor(maxAgeMs / 1000)}`,
  ];
  if (secure) attrs.push('Secure');
  return attrs.join('; ');
}

function clearCookie(reply: FastifyReply, secure: boolean): void {
  reply.header('set-cookie', sessionCookie('', 0, secure));
}

export function registerSessionRoutes(app: FastifyInstance, { authz, config }: RouteDeps): void {
  const secure = config.accessUrl.startsWith('https:');
  const origin = new URL(config.accessUrl).origin;

  // Logging in happens before there is a caller, so the lookups run as systemAuthn and
  // the session is minted by it; the password is what authorizes this request.
  app.post('/api/v1/users/login', async (request, reply) => {
    // A browser posting from another site would sign its user in to the attacker's
    // account (login CSRF); clients that send no Origin (CLIs, SDKs) are not browsers.
    if (request.headers.origin !== undefined && !sameOrigin(request, origin)) {
      throw new ApiError(403, 'Cross-site request refused.');
    }
    const body = loginBody.parse(request.body);
    const system = authz.as(systemActors.systemAuthn);
    const user = await system.getUserByEmail({ email: body.email });
    const ok = await verifyPassword(
      user?.login_type === 'password' ? user.hashed_password : null,
      body.password,
    );
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
    reply.header('set-cookie', sessionCookie(issued.token, config.sessionDuration, secure));
    return { session_token: issued.token };
  });

  app.post('/api/v1/users/logout', { preHandler: optionalAuth }, async (request, reply) => {
    const auth = request.auth;
    // Ends the session that made the request; a named API key is not a session and stays.
    if (auth?.apiKeyId && (auth.loginType === 'password' || auth.loginType === 'oidc')) {
      await authz.as(systemActors.systemSessions).deleteApiKey({ id: auth.apiKeyId });
    }
    clearCookie(reply, secure);
    return { message: 'Signed out.' };
  });
}
