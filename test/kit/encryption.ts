import { randomBytes } from 'node:crypto';
import { decodeEncryptionKey } from '../../src/config/index.ts';

/**
 * Keys every test server and store kit of this file use unless told otherwise: set by the
 * `dbcrypt` project of vitest.config.ts, which runs the vault suites again with upstream
 * tokens encrypted at rest. Undefined (no encryption) otherwise.
 */
export function testEncryptionKeys(): readonly Buffer[] | undefined {
  const text = process.env.LATCHKEY_TEST_ENCRYPTION_KEYS;
  if (!text) return undefined;
  return text.split(',').map((k) => {
    const key = decodeEncryptionKey(k);
    if (!key) throw new Error('LATCHKEY_TEST_ENCRYPTION_KEYS: not base64 32-byte keys');
    return key;
  });
}

/** A fresh key, and its base64 form as an operator would write it. */
export function newKey(): { readonly key: Buffer; readonly text: string } {
  const key = randomBytes(32);
  return { key, text: key.toString('base64') };
}
