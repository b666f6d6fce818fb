import { Command } from 'commander';
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import { migrateToLatest, migrationStatus, openDatabase, waitForDatabase } from '../db/index.ts';
import { createLogger, Metrics } from '../observability/index.ts';
import { resolveDatabase } from '../runtime/index.ts';
import { addConfigFlags, configFromCommand } from './config-flags.ts';
import { exitWithError } from './exit.ts';

const DATABASE_OPTIONS = new Set(['databaseUrl', 'dataDir', 'dbConnectTimeout', 'logLevel']);

/** `latchkey migrate up|status`: the same migrations the server runs at start. */
export function migrateCommand(): Command {
  const command = new Command('migrate').description('Apply or list database migrations.');
  const sub = (name: string, description: string, run: (db: Kysely<Database>) => Promise<void>) => {
    const child = new Command(name).description(description);
    addConfigFlags(child, (def) => DATABASE_OPTIONS.has(def.key));
    child.action(async () => {
      try {
        const config = configFromCommand(child);
        // Progress of the embedded database is noise here; warnings still show.
        const logger = createLogger(child.opts().logLevel ? config.logLevel : 'warn', process.stderr);
        const resolved = await resolveDatabase(config, logger);
        try {
          await waitForDatabase(resolved.url, { timeoutMs: config.dbConnectTimeout, logger });
          const handle = openDatabase({
            url: resolved.url,
            poolMax: 2,
            metrics: new Metrics({ processMetrics: false }),
            logger,
          });
          try {
            await run(handle.db);
          } finally {
            await handle.close();
          }
        } finally {
          await resolved.embedded?.stop();
        }
      } catch (err) {
        exitWithError(err);
      }
    });
    command.addCommand(child);
  };

  sub('up', 'Apply every pending migration.', async (db) => {
    const results = await migrateToLatest(db);
    if (results.length === 0) console.log('Database is up to date.');
    for (const r of results) console.log(`applied ${r.migrationName}`);
  });
  sub('status', 'List migrations and whether each is applied.', async (db) => {
    const states = await migrationStatus(db);
    for (const s of states)
      console.log(`${s.name}\t${s.appliedAt ? `applied ${s.appliedAt.toISOString()}` : 'pending'}`);
    const pending = states.filter((s) => !s.appliedAt).length;
    console.log(pending === 0 ? 'Database is up to date.' : `${pending} pending.`);
  });
  return command;
}
