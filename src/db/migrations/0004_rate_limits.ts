import { type Kysely, sql } from 'kysely';

// Rate-limit counters when LATCHKEY_RATE_LIMIT_STORE=postgres, shared by every replica.
// The layout is the one rate-limiter-flexible's RateLimiterPostgres expects (it inserts
// positionally: key, points, expire in epoch milliseconds), created here so the server
// never runs DDL at request time and is told the table exists.
//
// UNLOGGED: counters live for a minute, so they are not worth WAL writes on every request;
// after a crash (or on a promoted standby) the table is empty and windows start afresh.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE UNLOGGED TABLE rate_limits (
      key    text PRIMARY KEY,
      points integer NOT NULL DEFAULT 0,
      expire bigint
    )`.execute(db);
  // The library's periodic clean-up deletes by expiry.
  await sql`CREATE INDEX rate_limits_expire ON rate_limits (expire)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE rate_limits`.execute(db);
}
