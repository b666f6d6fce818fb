import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENCRYPTED_TABLES, PLAIN_COLUMNS, SECRET_NAME } from '../src/dbcrypt/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { type StoreKit, storeKit } from './kit/store.ts';

// The registry of secret columns (src/dbcrypt/columns.ts) against the real schema: a column
// named like a secret needs a decision, encrypted or deliberately not, and every store
// method of an encrypted table must say what it does with the secrets.

const db = useTestDatabase();
let kit: StoreKit;
let columns: Array<{ table: string; column: string; type: string }>;

beforeAll(async () => {
  kit = storeKit(db.url);
  const { rows } = await sql<{ table_name: string; column_name: string; data_type: string }>`
    SELECT table_name, column_name, data_type FROM information_schema.columns
    WHERE table_schema = 'public' ORDER BY table_name, column_name`.execute(kit.handle.db);
  columns = rows.map((r) => ({ table: r.table_name, column: r.column_name, type: r.data_type }));
});
afterAll(() => kit.close());

const decided = new Set([
  ...ENCRYPTED_TABLES.flatMap((t) => t.columns.map((c) => `${t.table}.${c}`)),
  ...PLAIN_COLUMNS.map((c) => `${c.table}.${c.column}`),
]);

describe('secret columns', () => {
  it('every column named like a secret is encrypted or listed as deliberately not (src/dbcrypt/columns.ts)', () => {
    const undecided = columns
      .filter((c) => SECRET_NAME.test(c.column))
      .map((c) => `${c.table}.${c.column}`)
      .filter((name) => !decided.has(name));
    expect(undecided).toEqual([]);
  });

  it('every registered column exists, and the encrypted ones are text', () => {
    const types = new Map(columns.map((c) => [`${c.table}.${c.column}`, c.type]));
    for (const name of decided) expect(types.has(name), name).toBe(true);
    for (const t of ENCRYPTED_TABLES) {
      for (const c of t.columns) expect(types.get(`${t.table}.${c}`), `${t.table}.${c}`).toBe('text');
      for (const k of [...t.key, ...Object.keys(t.cleared)])
        expect(types.has(`${t.table}.${k}`), k).toBe(true);
    }
  });

  it('the key of each encrypted table is its primary key (rows are bound to it)', async () => {
    for (const t of ENCRYPTED_TABLES) {
      const { rows } = await sql<{ column_name: string }>`
        SELECT a.attname AS column_name
        FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = ${t.table}::regclass AND i.indisprimary
        ORDER BY array_position(i.indkey, a.attnum)`.execute(kit.handle.db);
      expect(rows.map((r) => r.column_name)).toEqual([...t.key]);
    }
  });

  it('every store method naming an encrypted table says what it does with the secrets', () => {
    const methods = Object.keys(kit.raw).filter((m) => m !== 'inTx');
    for (const t of ENCRYPTED_TABLES) {
      // external_auth_links → ExternalAuthLink
      const entity = t.table
        .replace(/s$/, '')
        .split('_')
        .map((w) => (w[0] ?? '').toUpperCase() + w.slice(1))
        .join('');
      const listed = new Set<string>([
        t.methods.read,
        ...t.methods.rows,
        ...t.methods.writes,
        ...t.methods.swaps,
        ...t.methods.untouched,
      ]);
      const unlisted = methods.filter((m) => m.includes(entity) && !listed.has(m));
      expect(unlisted, t.table).toEqual([]);
      for (const m of listed) expect(methods, t.table).toContain(m);
    }
  });
});
