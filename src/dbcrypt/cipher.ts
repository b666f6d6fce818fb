import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { DbcryptError } from './errors.ts';

// The stored form of an encrypted value:
//
//   dbcrypt:v1:<key digest>:<base64url(nonce ‖ ciphertext ‖ tag)>
//
// AES-256-GCM with a fresh random 12-byte nonce per value and a 16-byte tag. The key
// digest (first 8 bytes of SHA-256 of the key, hex) says which key made the value, so any
// key of the ring decrypts it and rotation can find what still uses an old key with a
// LIKE on the prefix. We chose a prefix over a `<column>_key_id` column per secret column:
// the value describes itself, a new secret column is one registry entry instead of a
// migration adding its companion, and a value and its key id cannot get out of step.
// (What a key-id column has — a foreign key to dbcrypt_keys — the start-up check does
// instead, DC-3.)
//
// The additional authenticated data binds a value to where it is stored: the prefix
// (format version and key digest) and a context of table, column and the row's primary
// key. Ciphertext copied to another user's row, or from the refresh-token column into the
// access-token column, fails authentication instead of decrypting: someone who can write
// to the database but has no key cannot make Latchkey hand one user's token to another.
// Rotation keeps working because it re-encrypts each value in place, with the same
// context. Changing a row's primary key by hand (never done by Latchkey) would need a
// `decrypt` first.
//
// The empty string is never encrypted: '' means "no token" (a provider that issues no
// refresh token, or one cleared after a permanent failure) and must stay '' in both
// directions. A value without the prefix is plaintext written before encryption was
// enabled; it is read as is until `latchkey dbcrypt rotate` (or the next write) encrypts it.

export const FORMAT_PREFIX = 'dbcrypt:v1:';
/** LIKE pattern matching every encrypted value. */
export const ENCRYPTED_LIKE = `${FORMAT_PREFIX}%`;
/** Hex characters of a key digest, which follows FORMAT_PREFIX in every encrypted value. */
export const DIGEST_HEX = 16;
const DIGEST = /^[0-9a-f]{16}$/;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';

export interface EncryptionKey {
  readonly digest: string;
  readonly key: KeyObject;
}

/** First 8 bytes of SHA-256 of the key, hex: names a key without revealing it. */
export function keyDigest(secret: Buffer): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, DIGEST_HEX);
}

export function isDigest(text: string): boolean {
  return DIGEST.test(text);
}

export function encryptionKey(secret: Buffer): EncryptionKey {
  if (secret.length !== 32) throw new Error('an AES-256 key is 32 bytes');
  return { digest: keyDigest(secret), key: createSecretKey(secret) };
}

/** LIKE pattern matching the values a key encrypted. */
export function likeKey(digest: string): string {
  return `${FORMAT_PREFIX}${digest}:%`;
}

export function isEncrypted(value: string): boolean {
  return value.startsWith(FORMAT_PREFIX);
}

function aad(header: string, context: string): Buffer {
  return Buffer.from(`${header}\u0000${context}`, 'utf8');
}

/** Encrypts `plaintext` (not '') for the place `context` names. */
export function seal(key: EncryptionKey, plaintext: string, context: string): string {
  const header = `${FORMAT_PREFIX}${key.digest}:`;
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, key.key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(header, context));
  const body = Buffer.concat([nonce, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return header + body.toString('base64url');
}

/** The key digest an encrypted value names; undefined if it is not a well-formed one. */
export function digestOf(value: string): string | undefined {
  if (!isEncrypted(value)) return undefined;
  const end = FORMAT_PREFIX.length + DIGEST_HEX;
  const digest = value.slice(FORMAT_PREFIX.length, end);
  return value[end] === ':' && DIGEST.test(digest) ? digest : undefined;
}

/**
 * Decrypts an encrypted value stored at `where` (`table.column`, for errors) with the key
 * it names. Throws DbcryptError: malformed, key_missing (not in the ring) or tampered
 * (authentication failed).
 */
export function open(
  value: string,
  keyFor: (digest: string) => EncryptionKey | undefined,
  where: string,
  context: string,
): string {
  const digest = digestOf(value);
  if (digest === undefined) throw new DbcryptError('malformed', where);
  const key = keyFor(digest);
  if (key === undefined) throw new DbcryptError('key_missing', where, digest);
  const headerLength = FORMAT_PREFIX.length + DIGEST_HEX + 1;
  const encoded = value.slice(headerLength);
  const body = Buffer.from(encoded, 'base64url');
  // Only the canonical encoding is accepted: the decoder would otherwise skip characters
  // it does not know and ignore a last character's spare bits, so an altered value could
  // still decode to the same bytes.
  if (body.length < NONCE_BYTES + TAG_BYTES || body.toString('base64url') !== encoded) {
    throw new DbcryptError('malformed', where, digest);
  }
  const decipher = createDecipheriv(ALGORITHM, key.key, body.subarray(0, NONCE_BYTES), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(aad(value.slice(0, headerLength), context));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(body.subarray(NONCE_BYTES, body.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    throw new DbcryptError('tampered', where, digest);
  }
}
