import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import {
  type EmbeddedPostgres,
  migrateToLatest,
  openDatabase,
  startEmbeddedPostgres,
} from '../../src/db/index.ts';
import { createLogger, Metrics } from '../../src/observability/index.ts';
import { adminUrlOf, databaseUrl, STALE_AFTER_MS, TEST_DB_PREFIX, testDatabaseName } from './names.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDatabase: string;
  }
}

/**
 * Once per run: find PostgreSQL (DATABASE_URL, or an embedded one started here), migrate
 * a template database, and hand both to the test files. Each file then clones the
 * template, which takes milliseconds instead of a full migration.
 */
export default async function setup(project: TestProject) {
  const logger = createLogger('warn', process.stderr);
  let embedded: EmbeddedPostgres | undefined;
  let dataDir: string | undefined;
  let adminUrl: string;
  if (process.env.DATABASE_URL) {
    adminUrl = adminUrlOf(process.env.DATABASE_URL);
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'latchkey-test-pg-'));
    embedded = await startEmbeddedPostgres({ dataDir, logger, ephemeral: true });
    adminUrl = adminUrlOf(embedded.url);
  }

  const template = testDatabaseName('tpl');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await dropStaleDatabases(admin);
  await admin.query(`CREATE DATABASE ${template}`);
  const handle = openDatabase({
    url: databaseUrl(adminUrl, template),
    poolMax: 1,
    metrics: new Metrics({ processMetrics: false }),
    logger,
  });
  await migrateToLatest(handle.db);
  await handle.close();

  project.provide('adminUrl', adminUrl);
  project.provide('templateDatabase', template);

  return async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await admin.end();
    await embedded?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
}

// Databases left by a run that was killed; names carry their creation time.
async function dropStaleDatabases(admin: pg.Client): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>(
    'SELECT datname FROM pg_database WHERE datname LIKE $1',
    [`${TEST_DB_PREFIX}%`],
  );
  for (const { datname } of rows) {
    const created = Number(datname.split('_')[2]);
    if (Number.isFinite(created) && Date.now() - created > STALE_AFTER_MS) {
      await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => {});
    }
  }
}
