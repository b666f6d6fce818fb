import { Command } from 'commander';
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import { migrateToLatest, migrationStatus } from '../db/index.ts';
import { exitWithError } from './exit.ts';
import { addDatabaseFlags, withDatabase } from './operator.ts';

/** `latchkey migrate up|status`: the same migrations the server runs at start. */
export function migrateCommand(): Command {
  const command = new Command('migrate').description('Apply or list database migrations.');
  const sub = (name: string, description: string, run: (db: Kysely<Database>) => Promise<void>) => {
    const child = new Command(name).description(description);
    addDatabaseFlags(child);
    child.action(async () => {
      try {
        await withDatabase(child, ({ handle }) => run(handle.db));
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
