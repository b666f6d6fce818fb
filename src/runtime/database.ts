import type { Config } from '../config/index.ts';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../db/index.ts';
import type { Logger } from '../observability/index.ts';

export interface ResolvedDatabase {
  readonly url: string;
  /** Present when Latchkey started an embedded PostgreSQL that it must stop. */
  readonly embedded: EmbeddedPostgres | undefined;
}

/** DATABASE_URL when set; otherwise the embedded PostgreSQL in the data directory. */
export async function resolveDatabase(config: Config, logger: Logger): Promise<ResolvedDatabase> {
  if (config.databaseUrl !== undefined) return { url: config.databaseUrl, embedded: undefined };
  const embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, logger });
  return { url: embedded.url, embedded };
}
