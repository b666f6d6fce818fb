import type { Command } from 'commander';
import { KEYS_CHANNEL } from '../apikeys/index.ts';
import {
  AUTHZ_CHANNEL,
  authorizingStore,
  builtInRole,
  encodeChange,
  type Role,
  Subject,
  siteRole,
} from '../authz/index.ts';
import {
  createPubSub,
  createStore,
  type DatabaseHandle,
  migrateToLatest,
  openDatabase,
  type Store,
  waitForDatabase,
} from '../db/index.ts';
import { dbcryptStore, Keyring } from '../dbcrypt/index.ts';
import { createLogger, type Logger, Metrics } from '../observability/index.ts';
import { resolveDatabase } from '../runtime/index.ts';
import { addConfigFlags, configFromCommand } from './config-flags.ts';

const OWNER = builtInRole(siteRole('owner')) as Role;

/**
 * Who the CLI acts as. Whoever runs `latchkey users …` can already reach the database (its
 * URL, or the data directory of the embedded one), so holding the built-in `owner` role
 * gives them nothing they did not have. It still goes through the authorized store, so the
 * CLI runs the very checks and rules the API runs (no-escalation, last owner, …).
 *
 * This subject lives here, in src/cli, and nothing outside src/cli imports it: request
 * handlers only ever act as `store.as(theCaller)`, so it is unreachable over HTTP.
 */
export const cliOperator = new Subject({ id: 'system:cli', kind: 'system', roles: [OWNER] });

const DATABASE_OPTIONS = new Set(['databaseUrl', 'dataDir', 'dbConnectTimeout', 'logLevel']);

/** Adds the flags that choose the database (as `latchkey migrate` has them). */
export function addDatabaseFlags(command: Command): Command {
  return addConfigFlags(command, (def) => DATABASE_OPTIONS.has(def.key));
}

/**
 * Runs `fn` with the store as the CLI operator, on the database `latchkey migrate` would
 * use: DATABASE_URL, else the embedded PostgreSQL in the data directory. Migrations run
 * first, so a fresh install works. Role changes are announced on the same channel the
 * server uses, so running servers drop what they cached about the users changed here.
 */
export interface OpenedDatabase {
  readonly handle: DatabaseHandle;
  readonly url: string;
  readonly logger: Logger;
}

/**
 * Runs `fn` on the database a CLI command is pointed at: DATABASE_URL, else the embedded
 * PostgreSQL of a server running in the data directory, else that embedded PostgreSQL
 * started and stopped around `fn`.
 */
export async function withDatabase<T>(command: Command, fn: (db: OpenedDatabase) => Promise<T>): Promise<T> {
  const config = configFromCommand(command);
  // Progress of the embedded database is noise here; warnings still show.
  const logger = createLogger(command.opts().logLevel ? config.logLevel : 'warn', process.stderr);
  const resolved = await resolveDatabase(config, logger, { shareRunning: true });
  try {
    await waitForDatabase(resolved.url, { timeoutMs: config.dbConnectTimeout, logger });
    const handle = openDatabase({
      url: resolved.url,
      poolMax: 2,
      metrics: new Metrics({ processMetrics: false }),
      logger,
    });
    try {
      return await fn({ handle, url: resolved.url, logger });
    } finally {
      await handle.close();
    }
  } finally {
    await resolved.embedded?.stop();
  }
}

/**
 * Runs `fn` with the store as the CLI operator. Migrations run first, so a fresh install
 * works. Role changes and key deletions are announced on the channels the server listens
 * to, so running servers drop what they cached about them.
 */
export async function withOperatorStore<T>(command: Command, fn: (store: Store) => Promise<T>): Promise<T> {
  return withDatabase(command, async ({ handle, url, logger }) => {
    const pubsub = createPubSub({ url, db: handle.db, logger });
    try {
      await migrateToLatest(handle.db);
      const plain = createStore(handle.db, handle.inTx, {
        rolesChanged: (db, change) => pubsub.publish(AUTHZ_CHANNEL, encodeChange(change), db),
        // A key deleted here stops working on every running server at once.
        keyDeleted: (db, keyId) => pubsub.publish(KEYS_CHANNEL, keyId, db),
      });
      // Secret columns read or written here are encrypted as a server would (DC-1).
      const keyring = Keyring.from(configFromCommand(command).externalTokenEncryptionKeys);
      return await fn(authorizingStore(dbcryptStore(plain, keyring)).as(cliOperator));
    } finally {
      await pubsub.close();
    }
  });
}
