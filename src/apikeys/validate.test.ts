import { describe, expect, it } from 'vitest';
import type { ApiKey, Store, User } from '../db/index.ts';
import { generateKey } from './token.ts';
import { ApiKeyValidationError, storeLookup, type ValidKey, validateApiKey } from './validate.ts';

const NOW = new Date('2026-11-23T12:00:00Z');
const fresh = generateKey();
const user = { id: 'u1', status: 'active' } as User;
const key = {
  id: fresh.id,
  hashed_secret: fresh.hashedSecret,
  user_id: 'u1',
  expires_at: new Date(NOW.getTime() + 60_000),
} as ApiKey;

function storeWith(keys: ApiKey[], users: User[], fail?: Error): Store {
  return {
    getApiKeyById: async ({ id }: { id: string }) => {
      if (fail) throw fail;
      return keys.find((k) => k.id === id);
    },
    getUserById: async ({ id }: { id: string }) => users.find((u) => u.id === id),
  } as unknown as Store;
}

const validate = (token: string | undefined, store = storeWith([key], [user])) =>
  validateApiKey(token, { lookup: storeLookup(store), now: () => NOW });
const codeOf = (r: ValidKey | ApiKeyValidationError) =>
  r instanceof ApiKeyValidationError ? [r.code, r.status, r.hard] : 'ok';

describe('validateApiKey', () => {
  it('accepts a valid key and returns it with its user', async () => {
    expect(await validate(fresh.token)).toEqual({ key, user });
  });

  it('soft 401s for missing, malformed, unknown and wrong-secret tokens', async () => {
    expect(codeOf(await validate(undefined))).toEqual(['missing', 401, false]);
    expect(codeOf(await validate('garbage'))).toEqual(['malformed', 401, false]);
    expect(codeOf(await validate(generateKey().token))).toEqual(['unknown', 401, false]);
    const sameIdOtherSecret = generateKey();
    const forged = { ...key, hashed_secret: sameIdOtherSecret.hashedSecret };
    expect(codeOf(await validate(fresh.token, storeWith([forged], [user])))).toEqual(['unknown', 401, false]);
  });

  it('refuses garbage without touching the database', async () => {
    const exploding = storeWith([], [], new Error('must not be called'));
    expect(codeOf(await validate("lk_' OR 1=1 --", exploding))).toEqual(['malformed', 401, false]);
  });

  it('soft 401s an expired key and a deleted user, 403s a suspended user', async () => {
    const expired = { ...key, expires_at: new Date(NOW.getTime() - 1) };
    expect(codeOf(await validate(fresh.token, storeWith([expired], [user])))).toEqual([
      'expired',
      401,
      false,
    ]);
    expect(codeOf(await validate(fresh.token, storeWith([key], [])))).toEqual(['user_deleted', 401, false]);
    const suspended = { ...user, status: 'suspended' } as User;
    expect(codeOf(await validate(fresh.token, storeWith([key], [suspended])))).toEqual([
      'user_suspended',
      403,
      false,
    ]);
  });

  it('reports a database failure as a hard 500, never as a 401', async () => {
    const down = storeWith(
      [key],
      [user],
      Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' }),
    );
    const result = await validate(fresh.token, down);
    expect(codeOf(result)).toEqual(['internal', 500, true]);
    expect((result as ApiKeyValidationError).cause).toBeInstanceOf(Error);
  });
});
