import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestOf, encryptionKey, FORMAT_PREFIX, keyDigest, open, seal } from './cipher.ts';
import { DbcryptError } from './errors.ts';
import { Keyring } from './keyring.ts';

const secret = randomBytes(32);
const key = encryptionKey(secret);
const ring = Keyring.from([secret]);
const keyFor = (d: string) => ring.get(d);
const CONTEXT = 'external_auth_links\u0000oauth_access_token\u0000u1\u0000github';

const failure = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err as DbcryptError;
  }
  throw new Error('expected a DbcryptError');
};

describe('cipher', () => {
  it('round-trips, with a fresh nonce per value and the key digest in the stored form', () => {
    const a = seal(key, 'gho_secret', CONTEXT);
    const b = seal(key, 'gho_secret', CONTEXT);
    expect(a).not.toBe(b);
    expect(a.startsWith(`${FORMAT_PREFIX}${key.digest}:`)).toBe(true);
    expect(a).not.toContain('gho_secret');
    expect(open(a, keyFor, 'x.y', CONTEXT)).toBe('gho_secret');
    expect(open(b, keyFor, 'x.y', CONTEXT)).toBe('gho_secret');
    expect(digestOf(a)).toBe(key.digest);
  });

  it('names a key by the first 8 bytes of its SHA-256, in hex', () => {
    expect(keyDigest(Buffer.alloc(32))).toBe('66687aadf862bd77');
    expect(key.digest).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses a value altered anywhere: nonce, body, tag or the digest it names', () => {
    const sealed = seal(key, 'token-value', CONTEXT);
    const body = Buffer.from(sealed.slice(sealed.lastIndexOf(':') + 1), 'base64url');
    const header = sealed.slice(0, sealed.lastIndexOf(':') + 1);
    for (const at of [0, 12, body.length - 1]) {
      const bent = Buffer.from(body);
      bent[at] = (bent[at] ?? 0) ^ 1;
      const err = failure(() => open(header + bent.toString('base64url'), keyFor, 'x.y', CONTEXT));
      expect(err).toBeInstanceOf(DbcryptError);
      expect(err.code).toBe('tampered');
      expect(err.message).not.toContain('token-value');
    }
  });

  it('accepts only the canonical encoding (spare bits or stray characters are not ignored)', () => {
    const sealed = seal(key, 'token-value', CONTEXT);
    for (const bent of [`${sealed}=`, `${sealed.slice(0, 40)}.${sealed.slice(40)}`, `${sealed}A`]) {
      expect(failure(() => open(bent, keyFor, 'x.y', CONTEXT)).code).toMatch(/malformed|tampered/);
    }
  });

  it('binds a value to its place: another row or column does not decrypt it', () => {
    const sealed = seal(key, 'token-value', CONTEXT);
    const elsewhere = [
      'external_auth_links\u0000oauth_access_token\u0000u2\u0000github',
      'external_auth_links\u0000oauth_refresh_token\u0000u1\u0000github',
      'oidc_links\u0000oauth_access_token\u0000u1\u0000github',
    ];
    for (const context of elsewhere) {
      expect(failure(() => open(sealed, keyFor, 'x.y', context)).code).toBe('tampered');
    }
  });

  it('names a key it does not hold, and rejects what is not a well-formed value', () => {
    const other = encryptionKey(randomBytes(32));
    const err = failure(() =>
      open(seal(other, 'v', CONTEXT), keyFor, 'external_auth_links.oauth_access_token', CONTEXT),
    );
    expect(err.code).toBe('key_missing');
    expect(err.digest).toBe(other.digest);
    expect(err.message).toContain(other.digest);
    expect(err.message).toContain('external_auth_links.oauth_access_token');
    expect(failure(() => open(`${FORMAT_PREFIX}nothex`, keyFor, 'x.y', CONTEXT)).code).toBe('malformed');
    expect(failure(() => open(`${FORMAT_PREFIX}${key.digest}:AAAA`, keyFor, 'x.y', CONTEXT)).code).toBe(
      'malformed',
    );
    expect(failure(() => open(seal(key, 'v', CONTEXT), () => undefined, 'x.y', CONTEXT)).code).toBe(
      'key_missing',
    );
  });
});

describe('Keyring', () => {
  it('encrypts with the first key and decrypts with all; decrypt-only rings have no primary', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const both = Keyring.from([a, b]);
    expect(both.primary?.digest).toBe(keyDigest(a));
    expect(both.digests).toEqual([keyDigest(a), keyDigest(b)]);
    expect(both.has(keyDigest(b))).toBe(true);
    expect(Keyring.decryptOnly([a]).primary).toBeUndefined();
    expect(Keyring.from(undefined).isEmpty).toBe(true);
  });
});
