import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/index.ts';
import { createLogger } from '../../src/observability/index.ts';
import { databaseUrl } from '../../test/kit/names.ts';

export interface BenchDatabase {
  readonly url: string;
  readonly where: string;
  close(): Promise<void>;
}

/** A fresh database for one benchmark: on DATABASE_URL's server, else an embedded one. */
export async function benchDatabase(name: string): Promise<BenchDatabase> {
  let base = process.env.DATABASE_URL;
  let stopEmbedded = async () => {};
  let where = 'DATABASE_URL';
  if (!base) {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-pg-'));
    const embedded = await startEmbeddedPostgres({
      dataDir: dir,
      logger: createLogger('warn'),
      ephemeral: true,
    });
    base = embedded.url;
    where = 'embedded';
    stopEmbedded = async () => {
      await embedded.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const dbName = `latchkey_bench_${name}`;
  const admin = new pg.Client({ connectionString: databaseUrl(base, 'postgres') });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${dbName}`);
  return {
    url: databaseUrl(base, dbName),
    where,
    close: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
      await stopEmbedded();
    },
  };
}
