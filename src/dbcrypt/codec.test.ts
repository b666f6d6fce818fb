import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isEncrypted } from './cipher.ts';
import { TableCodec } from './codec.ts';
import { ENCRYPTED_TABLES } from './columns.ts';
import { DbcryptError } from './errors.ts';
import { Keyring } from './keyring.ts';

const table = ENCRYPTED_TABLES[0] as (typeof ENCRYPTED_TABLES)[number];
const ring = Keyring.from([randomBytes(32)]);
const codec = new TableCodec(table, ring);
const KEY = ['0d5b6b0e-0000-4000-8000-00000000000a', 'github'];

describe('TableCodec', () => {
  it('keeps the empty string empty in both directions', () => {
    expect(codec.encrypt('oauth_refresh_token', KEY, '')).toBe('');
    expect(codec.decrypt('oauth_refresh_token', KEY, '')).toBe('');
  });

  it('reads plaintext written before encryption was enabled as it is', () => {
    expect(codec.decrypt('oauth_access_token', KEY, 'gho_legacy')).toBe('gho_legacy');
  });

  it('writes plaintext when it holds no key to encrypt with', () => {
    expect(new TableCodec(table, Keyring.empty).encrypt('oauth_access_token', KEY, 'x')).toBe('x');
  });

  it('binds values to the row as PostgreSQL returns its key, whatever case the caller used', () => {
    const sealed = codec.encrypt('oauth_access_token', [KEY[0]?.toUpperCase() as string, 'github'], 'tok');
    expect(isEncrypted(sealed)).toBe(true);
    expect(codec.decrypt('oauth_access_token', KEY, sealed)).toBe('tok');
  });

  it('decrypts rows; a value that fails throws only when that value is read', () => {
    const row = {
      user_id: KEY[0],
      provider_id: 'github',
      oauth_access_token: codec.encrypt('oauth_access_token', KEY, 'at'),
      oauth_refresh_token: `${codec.encrypt('oauth_refresh_token', KEY, 'rt').slice(0, -2)}xx`,
      oauth_expiry: new Date(0),
    };
    const [out] = codec.decryptResult([row]) as [typeof row];
    expect(out.oauth_access_token).toBe('at');
    expect(out.oauth_expiry).toEqual(new Date(0));
    expect(() => out.oauth_refresh_token).toThrow(DbcryptError);
    expect(codec.decryptResult(undefined)).toBeUndefined();
    expect(codec.decryptResult(true)).toBe(true);
  });
});
