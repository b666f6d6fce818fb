import type { Kysely } from 'kysely';
import { type MigrationResult, Migrator } from 'kysely/migration';
import { MIGRATIONS } from './migrations/index.ts';

export interface MigrationState {
  readonly name: string;
  readonly appliedAt: Date | undefined;
}

function migrator<DB>(db: Kysely<DB>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => ({ ...MIGRATIONS }) } });
}

/** Thrown when a migration fails; names it and keeps PostgreSQL's error as the cause. */
export class MigrationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

/**
 * Applies every pending migration. Kysely holds a PostgreSQL advisory lock for the
 * whole run, so replicas starting together queue up and the later ones find nothing to do.
 */
export async function migrateToLatest<DB>(db: Kysely<DB>): Promise<readonly MigrationResult[]> {
  const { error, results = [] } = await migrator(db).migrateToLatest();
  if (error) {
    const failed = results.find((r) => r.status === 'Error');
    const what = failed ? `migration ${failed.migrationName} failed` : 'migrations failed';
    throw new MigrationError(`${what}: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
  return results;
}

/** Every known migration with when it was applied (undefined while pending). */
export async function migrationStatus<DB>(db: Kysely<DB>): Promise<readonly MigrationState[]> {
  const infos = await migrator(db).getMigrations();
  return infos.map((m) => ({ name: m.name, appliedAt: m.executedAt }));
}

/** The names this build knows, in order; /readyz compares them with the database. */
export const KNOWN_MIGRATIONS: readonly string[] = Object.keys(MIGRATIONS).sort();
