import { Command, Option } from 'commander';
import { authorizingStore, systemActors } from '../authz/index.ts';
import { encryptionKeyList } from '../config/index.ts';
import { createPubSub, createStore, migrateToLatest, type Store } from '../db/index.ts';
import {
  type DbcryptCommand,
  dbcryptStore,
  ENCRYPTED_LIKE,
  ENCRYPTED_TABLES,
  Keyring,
  keyDigest,
  runDbcrypt,
} from '../dbcrypt/index.ts';
import { EVERY_LINK, LINKS_CHANNEL } from '../externalauth/index.ts';
import { configFromCommand } from './config-flags.ts';
import { confirm, requireConfirmable } from './confirm.ts';
import { EXIT } from './exit.ts';
import { addDatabaseFlags, withDatabase } from './operator.ts';
import { progressReporter } from './progress.ts';
import { run, UsageError } from './run.ts';

// `latchkey dbcrypt rotate | decrypt | delete` (DC-2): upstream tokens at rest. The work
// itself is in src/dbcrypt/rewrite.ts; this file reads keys, asks, shows progress and
// turns Ctrl-C into a clean stop between batches. Keys come from flags or from the
// environment variables named in --help (keeping them out of shell history); the names
// differ from the servers' LATCHKEY_EXTERNAL_TOKEN_ENCRYPTION_KEYS on purpose, so a
// server's environment never decrypts or rotates anything by accident.

const DEFAULT_BATCH = '1000';

export function dbcryptCommand(): Command {
  const command = new Command('dbcrypt').description(
    'Encrypt, re-encrypt, decrypt or delete the upstream tokens stored at rest (docs/encryption.md).',
  );

  const rotate = withBatch(
    new Command('rotate')
      .description(
        'Re-encrypt every upstream token with --new-key (plaintext ones too), then revoke --old-keys. ' +
          'Safe while servers run if each has the new key first.',
      )
      .addOption(
        new Option('--new-key <key>', 'base64 32-byte key to encrypt with').env('LATCHKEY_DBCRYPT_NEW_KEY'),
      )
      .addOption(
        new Option('--old-keys <keys>', 'comma-separated keys the tokens may be encrypted with now').env(
          'LATCHKEY_DBCRYPT_OLD_KEYS',
        ),
      ),
  );
  rotate.action(() =>
    run(rotate, async () => {
      const o = rotate.opts<{ newKey?: string; oldKeys?: string; batchSize: string }>();
      if (o.newKey === undefined)
        throw new UsageError('--new-key is required (or LATCHKEY_DBCRYPT_NEW_KEY).');
      const given = keysFrom(rotate, 'newKey', o.newKey);
      const newKey = given[0];
      if (newKey === undefined || given.length !== 1)
        throw new UsageError('--new-key takes exactly one key.');
      const oldKeys = o.oldKeys === undefined ? [] : keysFrom(rotate, 'oldKeys', o.oldKeys);
      const done = await execute(rotate, { kind: 'rotate', newKey, oldKeys }, batchSize(o.batchSize));
      console.log(
        `Rotated: ${count(done.rows)} encrypted with key ${keyDigest(newKey)}; ${revokedText(done.revoked)}.`,
      );
    }),
  );

  const decrypt = withBatch(
    new Command('decrypt')
      .description(
        'Decrypt every upstream token back to plaintext, then revoke --keys. Refuses before changing ' +
          'anything unless --keys can decrypt every token.',
      )
      .addOption(
        new Option('--keys <keys>', 'comma-separated keys the tokens are encrypted with').env(
          'LATCHKEY_DBCRYPT_DECRYPT_KEYS',
        ),
      ),
  );
  decrypt.action(() =>
    run(decrypt, async () => {
      const o = decrypt.opts<{ keys?: string; batchSize: string }>();
      if (o.keys === undefined)
        throw new UsageError('--keys is required (or LATCHKEY_DBCRYPT_DECRYPT_KEYS).');
      const keys = keysFrom(decrypt, 'keys', o.keys);
      const done = await execute(decrypt, { kind: 'decrypt', keys }, batchSize(o.batchSize));
      console.log(
        `Decrypted: ${count(done.rows)} now stored as plaintext; ${revokedText(done.revoked)}. ` +
          'Remove the keys from the servers before they restart.',
      );
    }),
  );

  const remove = withBatch(
    new Command('delete')
      .description(
        'Delete every encrypted upstream token (their users link again) and revoke every key. For ' +
          'keys that are lost. Asks for confirmation; without a terminal, pass --yes.',
      )
      .option('-y, --yes', 'do not ask for confirmation'),
  );
  remove.action(() =>
    run(remove, async () => {
      const o = remove.opts<{ yes?: boolean; batchSize: string }>();
      requireConfirmable(o.yes === true, 'delete');
      const done = await execute(remove, { kind: 'delete' }, batchSize(o.batchSize), async (store) => {
        if (o.yes === true) return true;
        let rows = 0;
        for (const table of ENCRYPTED_TABLES)
          rows += await store.countSecretRows({ table, match: { like: ENCRYPTED_LIKE } });
        return confirm(
          `Delete the encrypted upstream tokens of ${count(rows)}? Their users will have to link again. [y/N] `,
        );
      });
      console.log(
        `Deleted: the encrypted tokens of ${count(done.rows)} cleared; ${revokedText(done.revoked)}.`,
      );
    }),
  );

  command.addCommand(rotate);
  command.addCommand(decrypt);
  command.addCommand(remove);
  return command;
}

function withBatch(command: Command): Command {
  return addDatabaseFlags(command.option('--batch-size <rows>', 'rows per transaction', DEFAULT_BATCH));
}

function batchSize(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 100_000)
    throw new UsageError(`--batch-size "${text}" is not a whole number from 1 to 100000.`);
  return n;
}

/** Keys from a flag or its environment variable; a bad one is a usage error naming where it came from. */
function keysFrom(command: Command, name: string, text: string): Buffer[] {
  const option = command.options.find((opt) => opt.attributeName() === name);
  const source =
    command.getOptionValueSource(name) === 'env' && option?.envVar
      ? option.envVar
      : `--${option?.name() ?? name}`;
  const parsed = encryptionKeyList.safeParse(text);
  if (!parsed.success)
    throw new UsageError(`${source}: ${parsed.error.issues.map((i) => i.message).join('; ')}.`);
  return [...parsed.data];
}

/**
 * Opens the database (as `latchkey migrate` would), runs the command as systemDbcrypt with
 * progress, and stops cleanly between batches on Ctrl-C (a second Ctrl-C exits at once;
 * the batch in flight is then rolled back by PostgreSQL). Exits 130 when interrupted.
 */
async function execute(
  command: Command,
  work: DbcryptCommand,
  batch: number,
  proceed: (store: Store) => Promise<boolean> = async () => true,
) {
  const keyring = Keyring.from(configFromCommand(command).externalTokenEncryptionKeys);
  const result = await withDatabase(command, async ({ handle, url, logger }) => {
    await migrateToLatest(handle.db);
    const store = authorizingStore(dbcryptStore(createStore(handle.db, handle.inTx), keyring)).as(
      systemActors.systemDbcrypt,
    );
    if (!(await proceed(store))) return undefined;
    // Running servers cache link rows; after a batch of deletions they drop them all.
    const pubsub = createPubSub({ url, db: handle.db, logger });
    let stopping = false;
    const onSigint = () => {
      if (stopping) process.exit(EXIT.interrupted);
      stopping = true;
      process.stderr.write(
        `\nlatchkey dbcrypt ${work.kind}: stopping after this batch (Ctrl-C again to quit now)\n`,
      );
    };
    process.on('SIGINT', onSigint);
    const progress = progressReporter(process.stderr, work.kind);
    let last = { done: 0, total: 0 };
    try {
      const done = await runDbcrypt(work, {
        store,
        batchSize: batch,
        onProgress: (p) => {
          last = p;
          progress.update(p.done, p.total);
        },
        stopRequested: () => stopping,
        afterBatch: () => pubsub.publish(LINKS_CHANNEL, EVERY_LINK),
      });
      progress.finish(last.done, last.total);
      return done;
    } finally {
      process.off('SIGINT', onSigint);
      await pubsub.close();
    }
  });
  if (result === undefined) {
    console.error('latchkey: nothing was changed.');
    process.exit(EXIT.failure);
  }
  if (result.interrupted) {
    console.error(
      `latchkey dbcrypt ${work.kind}: interrupted after ${count(result.rows)}; every finished batch is ` +
        'saved and no key was revoked. Run the same command again to finish.',
    );
    process.exit(EXIT.interrupted);
  }
  return result;
}

function count(rows: number): string {
  return `${rows.toLocaleString('en-US')} row${rows === 1 ? '' : 's'}`;
}

function revokedText(revoked: readonly string[]): string {
  return revoked.length === 0 ? 'no key revoked' : `revoked key ${revoked.join(', ')}`;
}
