import { describe, expect, it } from 'vitest';
import { decodeEncryptionKey, encryptionKeyList } from './encryption-keys.ts';
import { ConfigError, loadConfig } from './load.ts';

const KEY = Buffer.alloc(32, 7);

describe('LATCHKEY_EXTERNAL_TOKEN_ENCRYPTION_KEYS', () => {
  it('takes base64 32-byte keys, standard or URL-safe, padded or not, first one first', () => {
    expect(decodeEncryptionKey(KEY.toString('base64'))).toEqual(KEY);
    expect(decodeEncryptionKey(KEY.toString('base64url'))).toEqual(KEY);
    const other = Buffer.alloc(32, 9);
    const parsed = encryptionKeyList.parse(` ${KEY.toString('base64')} , ${other.toString('base64')}`);
    expect(parsed).toEqual([KEY, other]);
  });

  it.each([
    ['16 bytes', Buffer.alloc(16).toString('base64')],
    ['33 bytes', Buffer.alloc(33).toString('base64')],
    ['not base64', `${KEY.toString('base64').slice(0, -2)}!!`],
    ['a passphrase', 'correct horse battery staple correct horse'],
    ['empty', ''],
  ])('refuses %s, exit 2 naming the variable and never echoing the value', (_name, text) => {
    const env = { LATCHKEY_EXTERNAL_TOKEN_ENCRYPTION_KEYS: `${KEY.toString('base64')},${text || ','}` };
    let error: unknown;
    try {
      loadConfig({ env });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues[0]?.source).toBe('LATCHKEY_EXTERNAL_TOKEN_ENCRYPTION_KEYS');
    expect(issues[0]?.message).toMatch(/key 2 of \d is not 32 bytes of base64/);
    expect(JSON.stringify(issues)).not.toContain(KEY.toString('base64'));
  });

  it('refuses a key given twice', () => {
    const text = `${KEY.toString('base64')},${KEY.toString('base64url')}`;
    expect(encryptionKeyList.safeParse(text).error?.issues[0]?.message).toBe('key 2 of 2 is given twice');
  });

  it('is unset by default: nothing is encrypted', () => {
    expect(loadConfig({ env: {} }).externalTokenEncryptionKeys).toBeUndefined();
  });
});
