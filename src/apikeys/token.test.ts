import { describe, expect, it } from 'vitest';
import { generateKey, hashSecret, KEY_PATTERN, parseKey, secretMatches } from './token.ts';

describe('API key format', () => {
  it('generates lk_<id>_<secret><checksum> keys that parse back to their parts', () => {
    const key = generateKey();
    expect(key.token).toMatch(KEY_PATTERN);
    expect(key.token.startsWith(`lk_${key.id}_${key.secret}`)).toBe(true);
    expect(parseKey(key.token)).toEqual({ id: key.id, secret: key.secret });
    expect(secretMatches(key.secret, key.hashedSecret)).toBe(true);
  });

  it('keys are unique and their characters spread over the whole alphabet', () => {
    const keys = Array.from({ length: 2000 }, () => generateKey());
    expect(new Set(keys.map((k) => k.id)).size).toBe(2000);
    expect(new Set(keys.flatMap((k) => [...k.secret])).size).toBe(62);
  });

  it('rejects a wrong checksum, a changed character, and anything malformed', () => {
    const { token } = generateKey();
    const flipped = `${token.slice(0, 20)}${token[20] === 'a' ? 'b' : 'a'}${token.slice(21)}`;
    for (const bad of [
      flipped,
      `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`,
      token.slice(0, -1),
      `${token}x`,
      token.replace('lk_', 'gh_'),
      '',
      'lk_',
      "lk_' OR 1=1 --",
      'Bearer lk_abc',
      'lk_\u0000\u0000',
    ]) {
      expect(parseKey(bad)).toBeUndefined();
    }
  });

  it('compares secrets by hash and rejects another secret', () => {
    const a = generateKey();
    const b = generateKey();
    expect(secretMatches(b.secret, a.hashedSecret)).toBe(false);
    expect(secretMatches(a.secret, Buffer.alloc(5))).toBe(false);
    expect(hashSecret('x')).toHaveLength(32);
  });
});
