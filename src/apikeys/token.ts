import { hash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

// An API key is `lk_<id>_<secret><checksum>`:
// - `lk_` makes a leaked key recognisable to secret scanners;
// - `<id>` (10 base62 characters) is public and looks the key up;
// - `<secret>` (32 base62 characters, ~190 bits) is stored only as its SHA-256: with that
//   much entropy a slow password hash adds nothing but latency;
// - `<checksum>` (6 base62 characters of CRC-32 over everything before it) lets a scanner,
//   or this server, reject a mistyped or made-up key without a database lookup.

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const KEY_PREFIX = 'lk_';
const ID_LENGTH = 10;
const SECRET_LENGTH = 32;
const CHECKSUM_LENGTH = 6;

/** A key's public id, as routes and the CLI take it (and the table's CHECK has it). */
export const KEY_ID_PATTERN = new RegExp(`^[0-9A-Za-z]{${ID_LENGTH}}$`);
/** Names of named keys (`login_type = token`). */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** What scanners can match: prefix, id, underscore, secret with its checksum. */
export const KEY_PATTERN = new RegExp(
  `^${KEY_PREFIX}([0-9A-Za-z]{${ID_LENGTH}})_([0-9A-Za-z]{${SECRET_LENGTH + CHECKSUM_LENGTH}})$`,
);

export interface ParsedKey {
  readonly id: string;
  readonly secret: string;
}

export interface NewKey extends ParsedKey {
  /** The whole key, shown to its owner once. */
  readonly token: string;
  readonly hashedSecret: Buffer;
}

function randomBase62(length: number): string {
  // Rejection sampling keeps every character equally likely (256 is not a multiple of 62).
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

function base62(value: number, length: number): string {
  let n = value >>> 0;
  let out = '';
  for (let i = 0; i < length; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++)
    crc = (CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function checksum(body: string): string {
  return base62(crc32(body), CHECKSUM_LENGTH);
}

export function hashSecret(secret: string): Buffer {
  // The one-shot hash: no Hash object to create and later collect on every request.
  return hash('sha256', secret, 'buffer');
}

export function generateKey(): NewKey {
  const id = randomBase62(ID_LENGTH);
  const secret = randomBase62(SECRET_LENGTH);
  const body = `${KEY_PREFIX}${id}_${secret}`;
  return { id, secret, token: `${body}${checksum(body)}`, hashedSecret: hashSecret(secret) };
}

/**
 * A key drawn from `seed` (at least 32 secret random bytes) instead of fresh randomness:
 * the same seed gives the same key. The OAuth2 token endpoint uses it so a client retrying
 * a refresh within the grace window gets the very token it was first sent, without it
 * ever being stored (see src/oauth2/grants/refresh-token.ts).
 */
export function deriveKey(seed: Uint8Array): NewKey {
  const stream = new Uint8Array(hkdfSync('sha256', seed, new Uint8Array(0), 'latchkey api key', 255));
  let at = 0;
  const take = (length: number) => {
    let out = '';
    while (out.length < length) {
      const byte = stream[at++];
      // 255 bytes hold the 42 characters needed unless over 200 are rejected (p < 1e-150).
      if (byte === undefined) throw new Error('deriveKey: seed stream exhausted');
      if (byte < 248) out += ALPHABET[byte % 62];
    }
    return out;
  };
  const id = take(ID_LENGTH);
  const secret = take(SECRET_LENGTH);
  const body = `${KEY_PREFIX}${id}_${secret}`;
  return { id, secret, token: `${body}${checksum(body)}`, hashedSecret: hashSecret(secret) };
}

/** The id and secret of a well-formed key with a valid checksum; undefined otherwise. */
export function parseKey(token: string): ParsedKey | undefined {
  const match = KEY_PATTERN.exec(token);
  if (!match) return undefined;
  const id = match[1] as string;
  const tail = match[2] as string;
  const secret = tail.slice(0, SECRET_LENGTH);
  if (tail.slice(SECRET_LENGTH) !== checksum(`${KEY_PREFIX}${id}_${secret}`)) return undefined;
  return { id, secret };
}

/** Constant-time: how much of a stored hash matches never shows in the timing. */
export function secretMatches(secret: string, hashedSecret: Uint8Array): boolean {
  const candidate = hashSecret(secret);
  return candidate.length === hashedSecret.length && timingSafeEqual(candidate, hashedSecret);
}
