import { type Kysely, sql } from 'kysely';
import { SQLSTATE, sqlState } from './errors.ts';
import type { Database } from './schema.ts';

/** The lock was not granted within its timeout: someone else holds it for too long. */
export class LockTimeoutError extends Error {
  constructor(name: string) {
    super(`timed out waiting for lock ${name}`);
    this.name = 'LockTimeoutError';
  }
}

/**
 * Runs `fn` holding a session-level PostgreSQL advisory lock named `name`, on one reserved
 * connection that `fn` also gets. Replicas coordinate through it: whoever holds the lock is
 * the only one doing the guarded work anywhere.
 *
 * Why a session lock on a reserved connection rather than a transaction: work under the
 * lock (an upstream token refresh) must be saved the moment it is done, statement by
 * statement in autocommit, not at the end of a transaction that a later failure could roll
 * back. And `fn` runs its statements on the same connection, so a replica whose pool is
 * full of lock holders cannot deadlock waiting for a second connection to save with.
 * If the connection dies, PostgreSQL releases the lock.
 */
export async function withAdvisoryLock<T>(
  db: Kysely<Database>,
  name: string,
  timeoutMs: number,
  fn: (conn: Kysely<Database>) => Promise<T>,
): Promise<T> {
  return db.connection().execute(async (conn) => {
    // lock_timeout bounds the wait; set per session and reset before the connection goes back.
    await sql`SELECT set_config('lock_timeout', ${`${Math.max(1, Math.round(timeoutMs))}ms`}, false)`.execute(
      conn,
    );
    try {
      await sql`SELECT pg_advisory_lock(hashtextextended(${name}, 0))`.execute(conn);
    } catch (err) {
      await sql`RESET lock_timeout`.execute(conn);
      if (sqlState(err) === SQLSTATE.lockNotAvailable) throw new LockTimeoutError(name);
      throw err;
    }
    try {
      return await fn(conn);
    } finally {
      await sql`SELECT pg_advisory_unlock(hashtextextended(${name}, 0))`.execute(conn);
      await sql`RESET lock_timeout`.execute(conn);
    }
  });
}
