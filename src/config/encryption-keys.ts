import { z } from 'zod';

/** Bytes in an AES-256 key. */
export const ENCRYPTION_KEY_BYTES = 32;

const BASE64 = /^(?:[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+)$/;

/**
 * One key as an operator writes it: 32 bytes in base64 (standard or URL-safe, padding
 * optional), e.g. from `openssl rand -base64 32`. Undefined when it is not exactly that:
 * Buffer.from(…, 'base64') skips what it cannot read, so the text is checked first.
 */
export function decodeEncryptionKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (!BASE64.test(trimmed)) return undefined;
  const bytes = Buffer.from(trimmed, 'base64');
  return bytes.length === ENCRYPTION_KEY_BYTES ? bytes : undefined;
}

/**
 * A comma-separated list of keys, first one first. Errors name the key by its position,
 * never by its value (the option is secret, so the value is not echoed either).
 */
export const encryptionKeyList = z.string().transform((text, ctx) => {
  const parts = text.split(',').map((p) => p.trim());
  const keys: Buffer[] = [];
  parts.forEach((part, i) => {
    const which = parts.length === 1 ? 'the key' : `key ${i + 1} of ${parts.length}`;
    const key = decodeEncryptionKey(part);
    if (key === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `${which} is not ${ENCRYPTION_KEY_BYTES} bytes of base64; generate one with \`openssl rand -base64 32\``,
      });
    } else if (keys.some((k) => k.equals(key))) {
      ctx.addIssue({ code: 'custom', message: `${which} is given twice` });
    } else {
      keys.push(key);
    }
  });
  return keys as readonly Buffer[];
});
