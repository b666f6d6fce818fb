import { describe, expect, it } from 'vitest';
import type { ApiKey, User } from '../db/index.ts';
import { KeyCache } from './key-cache.ts';
import { cachedLookup } from './validate.ts';

const user = { id: 'u1' } as User;
const key = { id: 'k1', user_id: 'u1' } as ApiKey;

describe('KeyCache', () => {
  it('does not cache a row read before the key was dropped (revocation racing a lookup)', () => {
    const cache = new KeyCache();
    const before = cache.snapshot();
    cache.dropKey('k1'); // the deletion is heard while the read is in flight
    cache.set(key, user, before);
    expect(cache.get('k1')).toBeUndefined();
  });

  it('does not cache a row read before its user changed', () => {
    const cache = new KeyCache();
    const before = cache.snapshot();
    cache.dropUser('u1');
    cache.set(key, user, before);
    expect(cache.get('k1')).toBeUndefined();
    cache.set(key, user, cache.snapshot());
    expect(cache.get('k1')?.key).toBe(key);
  });

  it('through cachedLookup: a lookup overtaken by a deletion leaves nothing cached', async () => {
    const cache = new KeyCache();
    let release: () => void = () => {};
    const reading = new Promise<void>((resolve) => {
      release = resolve;
    });
    const store = {
      getApiKeyById: async () => {
        await reading;
        return key;
      },
      getUserById: async () => user,
    } as unknown as Parameters<typeof cachedLookup>[1];
    const lookup = cachedLookup(cache, store);
    const pending = lookup('k1');
    cache.dropKey('k1');
    release();
    expect((await pending)?.key).toBe(key);
    expect(cache.get('k1')).toBeUndefined();
    // A later lookup with nothing dropped meanwhile is cached.
    await lookup('k1');
    expect(cache.get('k1')?.key).toBe(key);
  });
});
