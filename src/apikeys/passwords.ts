import { type Algorithm, hash, verify } from '@node-rs/argon2';

// The library's `Algorithm` is a const enum, which type stripping cannot inline.
const ARGON2ID = 2 as Algorithm;

// argon2id with the library's defaults (19 MiB, 2 passes, 1 lane): OWASP's baseline.
export function hashPassword(password: string): Promise<string> {
  return hash(password, { algorithm: ARGON2ID });
}

// Verified against when the email matches no user, so "no such user" and "wrong
// password" take the same time and cannot be told apart by a stopwatch.
let dummy: Promise<string> | undefined;

/** Whether `password` matches `hashed`; with no hash, spends the same time and says no. */
export async function verifyPassword(hashed: string | null | undefined, password: string): Promise<boolean> {
  if (!hashed) {
    dummy ??= hashPassword('latchkey-timing-equaliser');
    await verify(await dummy, password).catch(() => false);
    return false;
  }
  return verify(hashed, password).catch(() => false);
}
