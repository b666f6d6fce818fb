import { type EncryptionKey, isEncrypted, open, seal } from './cipher.ts';
import type { EncryptedTable } from './columns.ts';
import { DbcryptError } from './errors.ts';
import type { Keyring } from './keyring.ts';

/**
 * Encrypts and decrypts the secret columns of one registered table with one key ring,
 * binding each value to its table, column and row (see cipher.ts).
 */
export class TableCodec {
  readonly table: EncryptedTable;
  readonly keyring: Keyring;
  readonly #keyFor: (digest: string) => EncryptionKey | undefined;
  readonly #argKeys: readonly string[];

  constructor(table: EncryptedTable, keyring: Keyring) {
    this.table = table;
    this.keyring = keyring;
    this.#keyFor = (digest) => keyring.get(digest);
    // Store methods take the key columns camelCased: user_id → userId.
    this.#argKeys = table.key.map((k) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
  }

  /**
   * Where a value lives. Key values are lower-cased: a uuid may reach us in either case,
   * and PostgreSQL always returns it in lower case.
   */
  context(column: string, key: readonly string[]): string {
    return [this.table.table, column, ...key.map((k) => k.toLowerCase())].join('\u0000');
  }

  /** '' stays ''; without a primary key the value is written as it is. */
  encrypt(column: string, key: readonly string[], plaintext: string, using = this.keyring.primary): string {
    if (plaintext === '' || using === undefined) return plaintext;
    return seal(using, plaintext, this.context(column, key));
  }

  /** '' and plaintext come back as they are; an encrypted value is decrypted or throws DbcryptError. */
  decrypt(column: string, key: readonly string[], stored: string): string {
    if (!isEncrypted(stored)) return stored;
    return open(stored, this.#keyFor, `${this.table.table}.${column}`, this.context(column, key));
  }

  keyOfRow(row: Record<string, unknown>): string[] {
    return this.table.key.map((k) => String(row[k]));
  }

  keyOfArg(arg: Record<string, unknown>): string[] {
    return this.#argKeys.map((k) => String(arg[k]));
  }

  /** The key arguments alone, e.g. `{ userId, providerId }`, for the table's `read` method. */
  keyArgs(arg: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(this.#argKeys.map((k) => [k, arg[k]]));
  }

  /**
   * A copy of `row` with its secret columns decrypted. A value that cannot be decrypted
   * becomes a getter that throws its DbcryptError: the row can still be listed (expiry,
   * failure reason), but whoever reads that token gets the error, never the ciphertext.
   */
  decryptRow<T extends object>(row: T): T {
    const out = { ...row } as Record<string, unknown>;
    const key = this.keyOfRow(out);
    for (const column of this.table.columns) {
      const stored = out[column];
      if (typeof stored !== 'string' || !isEncrypted(stored)) continue;
      try {
        out[column] = this.decrypt(column, key, stored);
      } catch (err) {
        if (!(err instanceof DbcryptError)) throw err;
        Object.defineProperty(out, column, {
          enumerable: true,
          get() {
            throw err;
          },
        });
      }
    }
    return out as T;
  }

  /** Decrypts what a store method returned: a row, rows, or anything else as it is. */
  decryptResult(result: unknown): unknown {
    if (Array.isArray(result)) return result.map((r) => this.decryptResult(r));
    if (result !== null && typeof result === 'object' && !(result instanceof Date)) {
      return this.decryptRow(result);
    }
    return result;
  }
}
