import type { Kysely, Transaction } from 'kysely';
import type { Metrics } from '../observability/index.ts';
import { SQLSTATE, sqlState } from './errors.ts';
import type { Database } from './schema.ts';

export type Isolation = 'serializable' | 'repeatable read' | 'read committed';

export interface TxOptions {
  /** A constant naming the transaction in metrics, e.g. 'refresh_external_token'. */
  readonly name: string;
  readonly isolation?: Isolation;
  readonly maxAttempts?: number;
}

export type InTx = <T>(fn: (tx: Transaction<Database>) => Promise<T>, options: TxOptions) => Promise<T>;

export interface TxRunnerOptions {
  readonly db: Kysely<Database>;
  readonly metrics: Metrics;
  readonly maxAttempts: number;
  /** Injected so tests control backoff without sleeping. */
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const RETRYABLE: Readonly<Record<string, string>> = {
  [SQLSTATE.serializationFailure]: 'serialization_failure',
  [SQLSTATE.deadlockDetected]: 'deadlock_detected',
};

const BACKOFF_BASE_MS = 5;
const BACKOFF_CAP_MS = 250;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Builds `inTx`, which runs `fn` in a transaction and retries it from the start when
 * PostgreSQL aborts it for a serialization failure or deadlock: those are not bugs but
 * the database asking the client to try again. `fn` must therefore be safe to re-run
 * (no side effects outside the transaction). Other errors roll back and propagate.
 * Called with a transaction already open, `fn` joins it instead of nesting.
 */
export function createInTx(options: TxRunnerOptions): InTx {
  const { db, metrics } = options;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? defaultSleep;

  return async function inTx(fn, txOptions) {
    if (db.isTransaction) return fn(db as Transaction<Database>);
    const maxAttempts = txOptions.maxAttempts ?? options.maxAttempts;
    const name = txOptions.name;
    const stop = metrics.txDuration.startTimer({ name });
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await db
          .transaction()
          .setIsolationLevel(txOptions.isolation ?? 'read committed')
          .execute(fn);
        stop({ outcome: 'commit' });
        return result;
      } catch (err) {
        const cause = RETRYABLE[sqlState(err) ?? ''];
        if (cause === undefined || attempt >= maxAttempts) {
          stop({ outcome: 'rollback' });
          metrics.txFailures.inc({ name, cause: cause ?? 'error' });
          throw err;
        }
        metrics.txRetries.inc({ name, cause });
        // Full jitter: spreads the retrying transactions apart so they stop colliding.
        await sleep(Math.floor(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt)));
      }
    }
  };
}
