import type { DataStore, SecretMatch, SecretRow, Store } from '../db/index.ts';
import { digestOf, ENCRYPTED_LIKE, type EncryptionKey, encryptionKey, likeKey } from './cipher.ts';
import { TableCodec } from './codec.ts';
import { ENCRYPTED_TABLES, type EncryptedTable } from './columns.ts';
import { DbcryptError, DbcryptRefusal } from './errors.ts';
import { Keyring } from './keyring.ts';
import { digestsInUse } from './startup.ts';

// `latchkey dbcrypt rotate | decrypt | delete` (DC-2). Each walks every registered table in
// primary-key order (keyset pagination), one transaction per batch: the batch's rows are
// locked FOR UPDATE, rewritten and committed together, so a server refreshing one of them
// meanwhile waits a few milliseconds and then sees the new form (its optimistic update
// re-reads and retries when only the encryption changed, see store.ts). Nothing is kept
// between batches but the last key, so memory stays flat and an interrupted run loses at
// most its current batch (rolled back). A rerun skips what is done: rows are selected by
// whether they still need work (for rotate: a value that is not '' and not already under
// the new key), so nothing is encrypted twice. Rows are not joined to users: links of
// deleted, suspended and system users are covered like any other.

export type DbcryptCommand =
  | { readonly kind: 'rotate'; readonly newKey: Buffer; readonly oldKeys: readonly Buffer[] }
  | { readonly kind: 'decrypt'; readonly keys: readonly Buffer[] }
  | { readonly kind: 'delete' };

export interface Progress {
  readonly done: number;
  readonly total: number;
}

export interface RewriteOptions {
  /** The store as systemDbcrypt. */
  readonly store: Store;
  readonly batchSize: number;
  readonly onProgress?: (p: Progress) => void;
  /** Checked between batches: true stops the run cleanly (Ctrl-C). */
  readonly stopRequested?: () => boolean;
  /**
   * Called after each committed batch that changed what callers read (delete: tokens are
   * gone), so caches of those rows can be dropped; rotate and decrypt change only the
   * stored form, never the plaintext a cache holds.
   */
  readonly afterBatch?: () => Promise<void>;
  readonly tables?: readonly EncryptedTable[];
}

export interface RewriteResult {
  /** Rows rewritten (or cleared). */
  readonly rows: number;
  /** Keys revoked at the end (none when interrupted). */
  readonly revoked: readonly string[];
  readonly interrupted: boolean;
}

/** How many times rows written meanwhile under another key are swept up before giving up. */
const MAX_PASSES = 3;

interface Plan {
  readonly match: SecretMatch;
  /** The new stored value of a column; `undefined` for delete (the row is cleared). */
  readonly rewrite:
    | ((codec: TableCodec, column: string, key: readonly string[], stored: string) => string)
    | undefined;
  readonly keyring: Keyring;
  /** Digests to revoke once no value needs them. */
  readonly revoke: (store: DataStore) => Promise<string[]>;
  readonly newKey?: EncryptionKey;
}

/**
 * Checks, before changing anything, that every value can be handled (every key in use is
 * given), then runs the command. Throws DbcryptRefusal when it cannot begin or finish.
 */
export async function runDbcrypt(command: DbcryptCommand, options: RewriteOptions): Promise<RewriteResult> {
  const tables = options.tables ?? ENCRYPTED_TABLES;
  const { store } = options;
  const plan = await prepare(command, store, tables);
  if (plan.newKey) await store.insertDbcryptKey({ digest: plan.newKey.digest });

  let total = 0;
  for (const table of tables) total += await store.countSecretRows({ table, match: plan.match });
  let done = 0;
  options.onProgress?.({ done, total });
  for (let pass = 1; ; pass++) {
    for (const table of tables) {
      const codec = new TableCodec(table, plan.keyring);
      let after: readonly string[] | undefined;
      for (;;) {
        if (options.stopRequested?.()) return { rows: done, revoked: [], interrupted: true };
        const batch = await store.inTx((tx) => rewriteBatch(tx, codec, plan, after, options.batchSize), {
          name: `dbcrypt_${command.kind}`,
        });
        if (batch === undefined) break;
        if (command.kind === 'delete') await options.afterBatch?.();
        after = batch.last;
        done += batch.rows;
        options.onProgress?.({ done, total: Math.max(total, done) });
      }
    }
    // Servers may have written under an old key meanwhile (one not yet given the new key
    // first); sweep those up, a few times, before concluding they keep doing it.
    let left = 0;
    for (const table of tables) left += await store.countSecretRows({ table, match: plan.match });
    if (left === 0) break;
    if (pass >= MAX_PASSES) {
      const others = (await digestsInUse(store, tables)).filter((d) => d !== plan.newKey?.digest);
      throw stillWritten(command, left, others);
    }
    total = done + left;
  }
  return { rows: done, revoked: await plan.revoke(store), interrupted: false };
}

async function rewriteBatch(
  tx: Store,
  codec: TableCodec,
  plan: Plan,
  after: readonly string[] | undefined,
  limit: number,
): Promise<{ rows: number; last: readonly string[] } | undefined> {
  const table = codec.table;
  const rows = await tx.lockSecretRows({ table, match: plan.match, after, limit });
  const last = rows.at(-1);
  if (last === undefined) return undefined;
  if (plan.rewrite === undefined) {
    await tx.clearSecretRows({ table, keys: rows.map((r) => r.key) });
  } else {
    const rewrite = plan.rewrite;
    const next: SecretRow[] = rows.map((row) => ({
      key: row.key,
      values: Object.fromEntries(
        table.columns.map((c) => [
          c,
          undecryptable(row, c, () => rewrite(codec, c, row.key, row.values[c] ?? '')),
        ]),
      ),
    }));
    await tx.updateSecretRows({ table, rows: next });
  }
  return { rows: rows.length, last: last.key };
}

/** A value no key decrypts (altered in the database) stops the run, naming its row. */
function undecryptable(row: SecretRow, column: string, fn: () => string): string {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof DbcryptError)) throw err;
    throw new DbcryptRefusal(
      'undecryptable',
      err.digest ? [err.digest] : [],
      `${err.message} (row ${row.key.join(', ')}). Earlier batches are done; this one was rolled ` +
        `back. Clear that value (unlink it, or \`UPDATE … SET ${column} = ''\`) and run again.`,
    );
  }
}

async function prepare(
  command: DbcryptCommand,
  store: DataStore,
  tables: readonly EncryptedTable[],
): Promise<Plan> {
  const inUse = await digestsInUse(store, tables);
  const recorded = new Map((await store.listDbcryptKeys()).map((k) => [k.digest, k]));
  switch (command.kind) {
    case 'rotate': {
      const newKey = encryptionKey(command.newKey);
      const keyring = Keyring.from([command.newKey, ...command.oldKeys]);
      refuseMissing(inUse, keyring, 'neither --new-key nor one of --old-keys');
      if (recorded.get(newKey.digest)?.status === 'revoked') {
        throw new DbcryptRefusal(
          'primary_revoked',
          [newKey.digest],
          `--new-key ${newKey.digest} was revoked earlier, and a revoked key never encrypts again; ` +
            'generate a new key (`openssl rand -base64 32`). Nothing was changed.',
        );
      }
      const old = keyring.digests.filter((d) => d !== newKey.digest);
      return {
        match: { like: '%', notLike: likeKey(newKey.digest) },
        keyring,
        newKey,
        // A value already under the new key is kept as it is (its row matched for another column).
        rewrite: (codec, column, key, stored) =>
          digestOf(stored) === newKey.digest
            ? stored
            : codec.encrypt(column, key, codec.decrypt(column, key, stored), newKey),
        revoke: (s) => s.revokeDbcryptKeys({ digests: old }),
      };
    }
    case 'decrypt': {
      const keyring = Keyring.decryptOnly(command.keys);
      refuseMissing(inUse, keyring, 'not among --keys');
      return {
        match: { like: ENCRYPTED_LIKE },
        keyring,
        rewrite: (codec, column, key, stored) => codec.decrypt(column, key, stored),
        revoke: (s) => s.revokeDbcryptKeys({ digests: keyring.digests }),
      };
    }
    case 'delete':
      return {
        match: { like: ENCRYPTED_LIKE },
        keyring: Keyring.empty,
        rewrite: undefined,
        // Every recorded key: the data they protected is gone.
        revoke: async (s) =>
          s.revokeDbcryptKeys({
            digests: (await s.listDbcryptKeys()).filter((k) => k.status === 'active').map((k) => k.digest),
          }),
      };
  }
}

function refuseMissing(inUse: readonly string[], keyring: Keyring, what: string): void {
  const missing = inUse.filter((d) => !keyring.has(d));
  if (missing.length === 0) return;
  throw new DbcryptRefusal(
    'key_missing',
    missing,
    `upstream tokens are encrypted with key ${missing.join(', ')}, which is ${what}. ` +
      'Nothing was changed. Give every key in use (`latchkey server` logs the digests of its keys; ' +
      'docs/encryption.md shows how to compute one).',
  );
}

function stillWritten(command: DbcryptCommand, left: number, inUse: readonly string[]): DbcryptRefusal {
  const fix =
    command.kind === 'rotate'
      ? 'A running server still encrypts with another key: put --new-key first in ' +
        'LATCHKEY_EXTERNAL_TOKEN_ENCRYPTION_KEYS on every server, restart them, and run rotate again.'
      : 'Running servers keep writing encrypted tokens: stop them (docs/encryption.md), then run this again.';
  return new DbcryptRefusal(
    'still_written',
    [...inUse],
    `${left} row(s) were written again under key ${inUse.join(', ') || '(none)'} while ${command.kind} ran. ` +
      `Everything else is done and no key was revoked. ${fix}`,
  );
}
