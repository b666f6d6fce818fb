import type { DataStore } from '../db/index.ts';
import { DIGEST_HEX, FORMAT_PREFIX, isDigest } from './cipher.ts';
import { ENCRYPTED_TABLES, type EncryptedTable } from './columns.ts';
import { DbcryptRefusal } from './errors.ts';
import type { Keyring } from './keyring.ts';

const VARIABLE = 'LATCHKEY_EXTERNAL_TOKEN_ENCRYPTION_KEYS';

/** The digests of every key some stored value names, sorted. */
export async function digestsInUse(
  store: DataStore,
  tables: readonly EncryptedTable[] = ENCRYPTED_TABLES,
): Promise<string[]> {
  const found = new Set<string>();
  for (const table of tables) {
    for (const column of table.columns) {
      const digests = await store.listSecretKeyDigests({
        table,
        column,
        prefix: FORMAT_PREFIX,
        length: DIGEST_HEX,
      });
      // A malformed value names no key; reading it reports it (DbcryptError 'malformed').
      for (const d of digests) if (isDigest(d)) found.add(d);
    }
  }
  return [...found].sort();
}

export interface KeyCheck {
  /** Keys that encrypted some stored value. */
  readonly inUse: readonly string[];
  /** Keys this server holds that are revoked: they only decrypt; remove them when done. */
  readonly revokedHeld: readonly string[];
}

/**
 * The start-up check (DC-3), run by every server before it serves: refuses to start when
 * the database holds values this server cannot decrypt (a key it lacks), values encrypted
 * with a revoked key, or when the key it would encrypt with is revoked. Serving would only
 * turn each of those into failed requests, one user at a time. Then records the keys in
 * use and the server's own encrypting key in dbcrypt_keys.
 *
 * `store` must be allowed to read secret tables and manage dbcrypt keys (systemDbcrypt).
 */
export async function checkEncryptionKeys(
  store: DataStore,
  keyring: Keyring,
  tables: readonly EncryptedTable[] = ENCRYPTED_TABLES,
): Promise<KeyCheck> {
  const inUse = await digestsInUse(store, tables);
  const recorded = new Map((await store.listDbcryptKeys()).map((k) => [k.digest, k]));
  const held = keyring.isEmpty ? 'no keys are set' : `this server has ${keyring.digests.join(', ')}`;

  const missing = inUse.filter((d) => !keyring.has(d));
  if (missing.length > 0) {
    throw new DbcryptRefusal(
      'key_missing',
      missing,
      `Refusing to start: the database holds upstream tokens encrypted with key ${list(missing)}, ` +
        `which ${missing.length === 1 ? 'is' : 'are'} not in ${VARIABLE} (${held}). ` +
        `Fix: add ${missing.length === 1 ? 'that key' : 'those keys'} to ${VARIABLE} after the first ` +
        '(the first encrypts, all decrypt). If a key is lost, `latchkey dbcrypt delete` removes every ' +
        'encrypted token and their users link again. See docs/encryption.md.',
    );
  }
  const revokedInUse = inUse.filter((d) => recorded.get(d)?.status === 'revoked');
  if (revokedInUse.length > 0) {
    throw new DbcryptRefusal(
      'key_revoked',
      revokedInUse,
      `Refusing to start: upstream tokens are still encrypted with key ${list(revokedInUse)}, which ` +
        `${revokedInUse.length === 1 ? 'was' : 'were'} revoked by \`latchkey dbcrypt\` ` +
        '(a server must have kept encrypting with it afterwards). Fix: `latchkey dbcrypt rotate ' +
        '--new-key <the first key of ' +
        `${VARIABLE}> --old-keys <the revoked key>\` re-encrypts them. See docs/encryption.md.`,
    );
  }
  const primary = keyring.primary;
  if (primary && recorded.get(primary.digest)?.status === 'revoked') {
    throw new DbcryptRefusal(
      'primary_revoked',
      [primary.digest],
      `Refusing to start: key ${primary.digest}, the first of ${VARIABLE} (the one that encrypts), ` +
        'was revoked by `latchkey dbcrypt` (rotate, decrypt or delete), and a revoked key never ' +
        'encrypts again. Fix: put the current key first, or generate a new one ' +
        '(`openssl rand -base64 32`) and put it first. See docs/encryption.md.',
    );
  }
  const toRecord = new Set([...inUse, ...(primary ? [primary.digest] : [])]);
  for (const digest of toRecord) {
    if (!recorded.has(digest)) await store.insertDbcryptKey({ digest });
  }
  return { inUse, revokedHeld: keyring.digests.filter((d) => recorded.get(d)?.status === 'revoked') };
}

function list(digests: readonly string[]): string {
  return digests.join(', ');
}
