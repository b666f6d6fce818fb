import pg from 'pg';
import type { Logger } from '../observability/index.ts';
import { SQLSTATE, sqlState } from './errors.ts';

/** Start-up could not reach the database in time, or reached it and was refused. */
export class DatabaseUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DatabaseUnavailableError';
  }
}

// Refusals that waiting cannot fix: a wrong password or a missing database.
const PERMANENT = new Set<string>([
  SQLSTATE.invalidPassword,
  SQLSTATE.invalidAuthorization,
  SQLSTATE.invalidCatalogName,
]);

/** host:port/database of a URL, for messages: never the password. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * Connects once to prove the database answers, retrying with capped exponential backoff
 * until `timeoutMs` has passed. Replicas often start before their database (compose,
 * Kubernetes), so a refused connection at start is normal for a while.
 */
export async function waitForDatabase(
  url: string,
  options: { timeoutMs: number; logger: Logger; now?: () => number },
): Promise<void> {
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  const where = describeDatabaseUrl(url);
  for (let attempt = 1, delay = 100; ; attempt++, delay = Math.min(delay * 2, 2000)) {
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: Math.max(1000, Math.min(5000, deadline - now())),
    });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (err) {
      const reason = (err as Error).message || String(err);
      const state = sqlState(err);
      if (state !== undefined && PERMANENT.has(state)) {
        throw new DatabaseUnavailableError(`PostgreSQL at ${where} refused the connection: ${reason}`, {
          cause: err,
        });
      }
      const remaining = deadline - now();
      if (remaining <= 0) {
        throw new DatabaseUnavailableError(
          `PostgreSQL at ${where} is not reachable after ${attempt} attempts: ${reason}. ` +
            'Check DATABASE_URL and that the server is running (LATCHKEY_DB_CONNECT_TIMEOUT sets how long to wait).',
          { cause: err },
        );
      }
      options.logger.warn({ attempt, database: where, err: reason }, 'database not reachable, retrying');
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, remaining)));
    } finally {
      await client.end().catch(() => {});
    }
  }
}
