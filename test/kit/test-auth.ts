import { type Authenticator, defaultAuthenticator } from '../../src/http/index.ts';
import type { StoreKit } from './store.ts';

/** The header test requests use to say who they are (test servers only). */
export const TEST_USER_HEADER = 'x-test-user';

/**
 * Lets a test request say who it is with a header, with roles resolved exactly as
 * authentication resolves them; requests without the header go through the production
 * authenticator (API keys, sessions). Only test servers are given this.
 */
export function testAuthenticator(kit: StoreKit): Authenticator {
  return async (request, context) => {
    const id = request.headers[TEST_USER_HEADER];
    if (typeof id !== 'string') return defaultAuthenticator(request, context);
    const user = await kit.raw.getUserById({ id });
    if (user?.status !== 'active') return undefined;
    const subject = await context.subjects.resolve(user);
    return { subject, userId: user.id, user, apiKeyId: undefined, source: 'test', loginType: undefined };
  };
}

/** Headers for a request made as `user`. */
export function asUser(user: { id: string }, extra: Record<string, string> = {}): Record<string, string> {
  return { [TEST_USER_HEADER]: user.id, ...extra };
}
