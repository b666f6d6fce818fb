import type { Config } from '../config/index.ts';
import { type EmbeddedPostgres, runningEmbeddedUrl, startEmbeddedPostgres } from '../db/index.ts';
import type { Logger } from '../observability/index.ts';

export interface ResolvedDatabase {
  readonly url: string;
  /** Present when Latchkey started an embedded PostgreSQL that it must stop. */
  readonly embedded: EmbeddedPostgres | undefined;
}

/**
 * DATABASE_URL when set; otherwise the embedded PostgreSQL in the data directory. With
 * `shareRunning` (CLI commands), a cluster a running server already holds is used as is
 * rather than refused; the server itself never shares (two servers, one data directory).
 */
export async function resolveDatabase(
  config: Config,
  logger: Logger,
  options: { shareRunning?: boolean } = {},
): Promise<ResolvedDatabase> {
  if (config.databaseUrl !== undefined) return { url: config.databaseUrl, embedded: undefined };
  const running = options.shareRunning ? runningEmbeddedUrl(config.dataDir) : undefined;
  if (running) return { url: running, embedded: undefined };
  const embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, logger });
  return { url: embedded.url, embedded };
}
