import { type EncryptionKey, encryptionKey } from './cipher.ts';

/**
 * The keys one process holds (LATCHKEY_EXTERNAL_TOKEN_ENCRYPTION_KEYS): the first encrypts,
 * every one decrypts. Empty is a valid ring: nothing is encrypted, and a value found
 * encrypted is an error rather than a token.
 */
export class Keyring {
  /** The key new values are encrypted with; undefined: values are written as they are. */
  readonly primary: EncryptionKey | undefined;
  readonly #byDigest: ReadonlyMap<string, EncryptionKey>;

  private constructor(primary: EncryptionKey | undefined, keys: readonly EncryptionKey[]) {
    this.primary = primary;
    this.#byDigest = new Map(keys.map((k) => [k.digest, k]));
  }

  /** From the configured keys, first = primary. */
  static from(secrets: readonly Buffer[] | undefined): Keyring {
    const keys = (secrets ?? []).map(encryptionKey);
    return new Keyring(keys[0], keys);
  }

  /** Keys that only decrypt (`latchkey dbcrypt decrypt --keys …`). */
  static decryptOnly(secrets: readonly Buffer[]): Keyring {
    return new Keyring(undefined, secrets.map(encryptionKey));
  }

  static readonly empty: Keyring = new Keyring(undefined, []);

  get(digest: string): EncryptionKey | undefined {
    return this.#byDigest.get(digest);
  }

  has(digest: string): boolean {
    return this.#byDigest.has(digest);
  }

  /** Every digest held, primary first. */
  get digests(): string[] {
    return [...this.#byDigest.keys()];
  }

  get isEmpty(): boolean {
    return this.#byDigest.size === 0;
  }
}
