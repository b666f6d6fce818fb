import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInTx, type DatabaseHandle, openDatabase } from '../src/db/index.ts';
import { createLogger, Metrics } from '../src/observability/index.ts';
import { useTestDatabase } from './kit/database.ts';

const testDb = useTestDatabase();
let handle: DatabaseHandle;
let metrics: Metrics;

beforeAll(async () => {
  metrics = new Metrics({ processMetrics: false });
  handle = openDatabase({ url: testDb.url, poolMax: 6, metrics, logger: createLogger('silent') });
  await sql`CREATE TABLE accounts (id int PRIMARY KEY, on_call boolean NOT NULL)`.execute(handle.db);
});
afterAll(() => handle.close());

/** Resolves once `n` parties have arrived: makes two transactions interleave on purpose. */
function barrier(n: number): () => Promise<void> {
  let arrived = 0;
  let release: () => void = () => {};
  const all = new Promise<void>((r) => {
    release = r;
  });
  return () => {
    arrived += 1;
    if (arrived === n) release();
    return all;
  };
}

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

const noSleep = async () => {};

describe('inTx', () => {
  it('retries a real serialization failure until both transactions commit', async () => {
    await sql`DELETE FROM accounts`.execute(handle.db);
    await sql`INSERT INTO accounts VALUES (1, true), (2, true)`.execute(handle.db);
    const inTx = createInTx({ db: handle.db, metrics, maxAttempts: 5, sleep: noSleep });
    const bothRead = barrier(2);
    let firstAttempts = 0;
    // Classic write skew: each reads that two are on call, then takes one off call.
    // Under SERIALIZABLE one of them must be aborted with 40001 and retried.
    const goOffCall = (id: number) =>
      inTx(
        async (tx) => {
          firstAttempts += 1;
          const { rows } = await sql<{
            n: number;
          }>`SELECT count(*)::int AS n FROM accounts WHERE on_call`.execute(tx);
          if (firstAttempts <= 2) await bothRead();
          if ((rows[0]?.n ?? 0) >= 2)
            await sql`UPDATE accounts SET on_call = false WHERE id = ${id}`.execute(tx);
        },
        { name: 'write_skew', isolation: 'serializable' },
      );
    await Promise.all([goOffCall(1), goOffCall(2)]);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM accounts WHERE on_call`.execute(
      handle.db,
    );
    // The invariant holds: someone is still on call, because the loser re-ran and saw one left.
    expect(rows[0]?.n).toBe(1);
    expect(
      await counter('latchkey_db_tx_retries_total', { name: 'write_skew', cause: 'serialization_failure' }),
    ).toBe(1);
  });

  it('retries a real deadlock', async () => {
    await sql`DELETE FROM accounts`.execute(handle.db);
    await sql`INSERT INTO accounts VALUES (1, true), (2, true)`.execute(handle.db);
    const inTx = createInTx({ db: handle.db, metrics, maxAttempts: 5, sleep: noSleep });
    const bothLocked = barrier(2);
    let attempts = 0;
    const lockBoth = (first: number, second: number) =>
      inTx(
        async (tx) => {
          attempts += 1;
          // Superuser-only setting (tests run as one): detect the deadlock in 50ms, not 1s.
          await sql`SET LOCAL deadlock_timeout = '50ms'`.execute(tx);
          await sql`UPDATE accounts SET on_call = NOT on_call WHERE id = ${first}`.execute(tx);
          if (attempts <= 2) await bothLocked();
          await sql`UPDATE accounts SET on_call = NOT on_call WHERE id = ${second}`.execute(tx);
        },
        { name: 'deadlock' },
      );
    await Promise.all([lockBoth(1, 2), lockBoth(2, 1)]);
    // At least one retry; a retry may race the surviving transaction and deadlock again,
    // which is why inTx retries more than once. What must hold: both committed.
    expect(
      await counter('latchkey_db_tx_retries_total', { name: 'deadlock', cause: 'deadlock_detected' }),
    ).toBeGreaterThanOrEqual(1);
    const { rows } = await sql<{ on_call: boolean }>`SELECT on_call FROM accounts ORDER BY id`.execute(
      handle.db,
    );
    // Each row was flipped twice, once by each transaction: both committed.
    expect(rows.map((r) => r.on_call)).toEqual([true, true]);
  });

  it('gives up after the bounded number of attempts, with backoff between them', async () => {
    const delays: number[] = [];
    const inTx = createInTx({
      db: handle.db,
      metrics,
      maxAttempts: 4,
      random: () => 0.5,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    let calls = 0;
    const failing = inTx(
      async () => {
        calls += 1;
        throw Object.assign(new Error('could not serialize access'), { code: '40001' });
      },
      { name: 'always_conflicts' },
    );
    await expect(failing).rejects.toThrow('could not serialize access');
    expect(calls).toBe(4);
    expect(delays).toHaveLength(3);
    expect(delays[2]).toBeGreaterThan(delays[0] as number);
    expect(
      await counter('latchkey_db_tx_failures_total', {
        name: 'always_conflicts',
        cause: 'serialization_failure',
      }),
    ).toBe(1);
  });

  it('does not retry other errors, and rolls back their writes', async () => {
    const inTx = createInTx({ db: handle.db, metrics, maxAttempts: 5, sleep: noSleep });
    let calls = 0;
    await expect(
      inTx(
        async (tx) => {
          calls += 1;
          await sql`INSERT INTO accounts VALUES (99, true)`.execute(tx);
          throw new Error('boom');
        },
        { name: 'plain_error' },
      ),
    ).rejects.toThrow('boom');
    expect(calls).toBe(1);
    const { rows } = await sql`SELECT 1 FROM accounts WHERE id = 99`.execute(handle.db);
    expect(rows).toHaveLength(0);
    expect(await counter('latchkey_db_tx_failures_total', { name: 'plain_error', cause: 'error' })).toBe(1);
  });

  it('joins an open transaction instead of nesting', async () => {
    const outer = createInTx({ db: handle.db, metrics, maxAttempts: 5 });
    await expect(
      outer(
        async (tx) => {
          const inner = createInTx({ db: tx, metrics, maxAttempts: 5 });
          await inner(async (t) => sql`INSERT INTO accounts VALUES (100, true)`.execute(t), {
            name: 'inner',
          });
          throw new Error('outer fails after inner wrote');
        },
        { name: 'outer' },
      ),
    ).rejects.toThrow('outer fails');
    const { rows } = await sql`SELECT 1 FROM accounts WHERE id = 100`.execute(handle.db);
    expect(rows).toHaveLength(0);
  });
});
