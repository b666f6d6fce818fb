import { sql } from 'kysely';
import { afterAll, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../src/db/index.ts';
import { createLogger, Metrics } from '../src/observability/index.ts';
import { useTestDatabase } from './kit/database.ts';

// Statements with parameters are prepared once per connection (src/db/pool.ts), so
// PostgreSQL parses and plans a grant's statement once rather than on every grant; texts
// selecting `*` are not (a migration adding a column would break them on running replicas).

const db = useTestDatabase();
const handles: DatabaseHandle[] = [];
afterAll(async () => {
  for (const h of handles) await h.close();
});

function open(preparedStatements?: boolean): DatabaseHandle {
  const handle = openDatabase({
    url: db.url,
    poolMax: 1,
    metrics: new Metrics({ processMetrics: false }),
    logger: createLogger('silent'),
    ...(preparedStatements === undefined ? {} : { preparedStatements }),
  });
  handles.push(handle);
  return handle;
}

/** The statements prepared on the pool's one connection. */
async function prepared(handle: DatabaseHandle): Promise<string[]> {
  const { rows } = await sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements`.execute(
    handle.db,
  );
  return rows.map((r) => r.statement);
}

it('prepares a statement with parameters once per connection, and not one selecting *', async () => {
  const handle = open();
  for (let i = 0; i < 3; i++) {
    const { rows } = await sql<{ n: number }>`SELECT ${i}::int + 1 AS n`.execute(handle.db);
    expect(rows[0]?.n).toBe(i + 1);
    await sql`SELECT * FROM users WHERE username = ${`nobody-${i}`}`.execute(handle.db);
  }
  const statements = await prepared(handle);
  expect(statements.filter((s) => s.includes('::int + 1'))).toHaveLength(1);
  expect(statements.some((s) => s.includes('SELECT * FROM users'))).toBe(false);
});

it('prepares nothing when turned off (a pooler that cannot keep prepared statements)', async () => {
  const handle = open(false);
  await sql`SELECT ${1}::int + 2 AS n`.execute(handle.db);
  expect(await prepared(handle)).toEqual([]);
});
