import { createHash, timingSafeEqual } from 'node:crypto';
import type { LinkTokens, Store } from '../db/index.ts';
import { TableCodec } from './codec.ts';
import { ENCRYPTED_TABLES } from './columns.ts';
import type { Keyring } from './keyring.ts';

type Method = (arg: Record<string, unknown>, ...rest: unknown[]) => Promise<unknown>;
type Methods = Record<string, Method>;

/** Attempts of one optimistic update while only the encryption of its row changes. */
const SWAP_ATTEMPTS = 8;

/**
 * The store with secret columns encrypted on the way in and decrypted on the way out,
 * for every caller: it sits between the raw store and the authorizing store, so handlers,
 * the refresher and the CLI see plaintext and write plaintext. With an empty key ring it
 * writes plaintext and still refuses to return a value it finds encrypted.
 *
 * The optimistic refresh-token update (EA-3, `WHERE oauth_refresh_token = $old`) cannot
 * compare plaintext with what is stored: every encryption of the same token differs
 * (fresh nonce). So a swap reads the row, decrypts the stored token and compares it with
 * `oldRefreshToken` in constant time; if they match, it runs the raw update with the stored
 * ciphertext as `$old`. That is a compare-and-swap on the exact bytes read: if anything
 * wrote the row in between, the ciphertext differs and PostgreSQL changes nothing (each
 * write has a new nonce, so an old ciphertext never comes back). Then the row is read
 * again: a different token means another refresher won (false, as before); the same token
 * under a new ciphertext means only its encryption changed (`dbcrypt rotate` re-encrypted
 * it meanwhile), and the swap is tried again. Two racing refreshers still see exactly one
 * win, the rule stays in SQL, and no transaction or row lock is held around it.
 */
export function dbcryptStore(inner: Store, keyring: Keyring, tables = ENCRYPTED_TABLES): Store {
  const source = inner as unknown as Methods;
  const wrapped: Methods = { ...source };
  for (const table of tables) {
    const codec = new TableCodec(table, keyring);
    for (const name of table.methods.writes) {
      const next = wrapped[name] as Method;
      wrapped[name] = (arg, ...rest) => next(encryptTokens(codec, arg, codec.keyOfArg(arg)), ...rest);
    }
    for (const name of table.methods.rows) {
      const next = wrapped[name] as Method;
      wrapped[name] = async (arg, ...rest) => codec.decryptResult(await next(arg, ...rest));
    }
    for (const name of table.methods.swaps) {
      const update = source[name] as Method;
      const read = source[table.methods.read] as Method;
      wrapped[name] = keyring.isEmpty ? update : (arg) => swap(codec, read, update, arg);
    }
  }
  return {
    ...(wrapped as unknown as Store),
    inTx: (fn, options) => inner.inTx((tx) => fn(dbcryptStore(tx, keyring, tables)), options),
  };
}

function encryptTokens(codec: TableCodec, arg: Record<string, unknown>, key: readonly string[]) {
  const tokens = arg.tokens as LinkTokens | undefined;
  if (tokens === undefined) return arg;
  const fields = codec.table.tokenFields;
  return {
    ...arg,
    tokens: {
      ...tokens,
      accessToken: codec.encrypt(fields.accessToken, key, tokens.accessToken),
      refreshToken: codec.encrypt(fields.refreshToken, key, tokens.refreshToken),
    },
  };
}

async function swap(codec: TableCodec, read: Method, update: Method, arg: Record<string, unknown>) {
  const key = codec.keyOfArg(arg);
  const wanted = String(arg.oldRefreshToken);
  const column = codec.table.swapColumn;
  const next = encryptTokens(codec, arg, key);
  const readStored = async () => {
    const row = (await read(codec.keyArgs(arg))) as Record<string, unknown> | undefined;
    return row === undefined ? undefined : String(row[column]);
  };
  let stored = await readStored();
  for (let attempt = 1; ; attempt++) {
    if (stored === undefined || !sameSecret(codec.decrypt(column, key, stored), wanted)) return false;
    if (await update({ ...next, oldRefreshToken: stored })) return true;
    const now = await readStored();
    // Unchanged: the update declined for a rule of its own (a failure is not recorded
    // over an empty token), not because someone wrote the row.
    if (now === stored) return false;
    if (attempt >= SWAP_ATTEMPTS) {
      throw new Error(`${codec.table.table}: the row kept changing under an optimistic update`);
    }
    stored = now;
  }
}

function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
