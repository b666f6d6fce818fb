import type { FastifyRequest } from 'fastify';
import type { Subject } from '../../src/authz/index.ts';
import type { AuthContext } from '../../src/http/index.ts';
import type { StoreKit } from './store.ts';

/** The header test requests use to say who they are (test servers only). */
export const TEST_USER_HEADER = 'x-test-user';

/**
 * Stands in for sessions and API keys until they exist: the request names a user id in
 * a header and is treated as that user, with roles resolved exactly as authentication
 * will resolve them. Only test servers are given this; production has no authenticator.
 */
export function testAuthenticator(
  kit: StoreKit,
): (request: FastifyRequest, context: AuthContext) => Promise<Subject | undefined> {
  return async (request, context) => {
    const id = request.headers[TEST_USER_HEADER];
    if (typeof id !== 'string') return undefined;
    const user = await kit.raw.getUserById({ id });
    if (user?.status !== 'active') return undefined;
    return context.subjects.resolve(user);
  };
}

/** Headers for a request made as `user`. */
export function asUser(user: { id: string }, extra: Record<string, string> = {}): Record<string, string> {
  return { [TEST_USER_HEADER]: user.id, ...extra };
}
