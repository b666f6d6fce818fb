import type { ApiKey, Store } from '../db/index.ts';
import { KEY_ID_PATTERN } from './token.ts';

/**
 * The key `id` of user `userId`, or undefined: a malformed id is not looked up, and a key
 * of another user is "not found" under this one, whoever is asking.
 */
export async function findUserKey(store: Store, userId: string, id: string): Promise<ApiKey | undefined> {
  if (!KEY_ID_PATTERN.test(id)) return undefined;
  const key = await store.getApiKeyById({ id });
  return key?.user_id === userId ? key : undefined;
}
