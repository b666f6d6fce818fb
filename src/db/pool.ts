import { hash } from 'node:crypto';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger, Metrics } from '../observability/index.ts';
import type { Database } from './schema.ts';
import { createInTx, type InTx } from './tx.ts';

export interface DatabaseOptions {
  readonly url: string;
  readonly poolMax: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly queryMetrics?: boolean;
  /** Attempts inTx gives a transaction that hits a serialization failure or deadlock. */
  readonly txMaxAttempts?: number;
  /** Prepare statements once per connection (see statementName); off behind a pooler that cannot keep them. */
  readonly preparedStatements?: boolean;
}

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly pool: pg.Pool;
  /** Runs a function in a transaction, retrying serialization failures and deadlocks. */
  readonly inTx: InTx;
  close(): Promise<void>;
}

// Timestamps come back as Date and bigint counts as strings unless told otherwise;
// int8 (COUNT(*)) as a JS number is safe for every count Latchkey takes.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

// Statements sent with parameters are prepared once per connection under a name derived
// from their text, so PostgreSQL parses and plans each of them once instead of on every
// call. Not texts selecting or returning `*`: prepared, those fail ("cached plan must not
// change result type") once a migration adds a column, which would hit replicas still
// running. The number of names is bounded; texts past the bound run unnamed, as before.
const MAX_PREPARED = 500;
const SELECTS_STAR = /(?:^|[\s,.])\*(?:[\s,]|$)/;
const statementNames = new Map<string, string>();

function statementName(text: string): string | undefined {
  const known = statementNames.get(text);
  if (known !== undefined || statementNames.size >= MAX_PREPARED || SELECTS_STAR.test(text)) return known;
  const name = `lk_${hash('sha1', text, 'hex').slice(0, 24)}`;
  statementNames.set(text, name);
  return name;
}

/** Opens a pool and a Kysely instance on it. Every statement is counted as a round trip. */
export function openDatabase(options: DatabaseOptions): DatabaseHandle {
  const { metrics } = options;
  const prepare = options.preparedStatements ?? true;
  // A Client subclass sees every statement, including BEGIN/COMMIT that Kysely's own
  // log hook does not, so the round-trip counter benchmarks rely on is exact.
  class CountingClient extends pg.Client {
    // biome-ignore lint/suspicious/noExplicitAny: forwards pg.Client's constructor arguments.
    constructor(...args: any[]) {
      super(...(args as [pg.ClientConfig]));
      // A connection can die while checked out but between statements (a lock held around
      // an upstream call). pg then emits 'error' on the client, which the pool does not
      // listen to for checked-out clients; unhandled, it would crash the process. The next
      // statement on it fails normally and the pool discards it.
      this.on('error', (err) => options.logger.warn({ err: err.message }, 'PostgreSQL connection lost'));
    }
    // biome-ignore lint/suspicious/noExplicitAny: pg's query() has many overloads; this forwards them all.
    override query(...args: any[]): any {
      metrics.dbQueries.inc();
      const [text, values, ...rest] = args;
      if (prepare && typeof text === 'string' && Array.isArray(values) && values.length > 0) {
        const name = statementName(text);
        if (name !== undefined)
          return (super.query as (...a: unknown[]) => unknown)({ name, text, values }, ...rest);
      }
      return (super.query as (...a: unknown[]) => unknown)(...args);
    }
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    Client: CountingClient,
    application_name: 'latchkey',
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  });
  // An idle connection dropped by the server (restart, failover) emits 'error' on the
  // pool; unhandled, that would crash the process. The next checkout reconnects.
  pool.on('error', (err) => options.logger.warn({ err: err.message }, 'idle PostgreSQL connection lost'));
  metrics.watchPool(() => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }));

  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    ...(options.queryMetrics
      ? { log: (event) => metrics.dbQueryDuration.observe(event.queryDurationMillis / 1000) }
      : {}),
  });
  const inTx = createInTx({ db, metrics, maxAttempts: options.txMaxAttempts ?? 5 });
  return { db, pool, inTx, close: () => db.destroy() };
}
