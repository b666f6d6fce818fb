import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from '../schema.ts';

// Bulk access to the columns dbcrypt encrypts, for `latchkey dbcrypt rotate | decrypt |
// delete` and the server's start-up check. The tables come from dbcrypt's registry
// (src/dbcrypt/columns.ts), so these queries are written once for any table there: the
// values are handled as stored (ciphertext or plaintext), never decrypted here.

/** A table with secret columns, as the registry describes it. */
export interface SecretTable {
  readonly table: keyof Database & string;
  /** The resource type the authorizing store checks bulk access against. */
  readonly resource: string;
  /** Its primary key: keyset pagination and row identity. */
  readonly key: readonly string[];
  /** The secret text columns. */
  readonly columns: readonly string[];
  /** Set, besides emptying the secret columns, when a row's secrets are cleared. */
  readonly cleared: Readonly<Record<string, string>>;
}

/**
 * Which rows a pass works on: those with a secret value that is not empty, matches
 * `like`, and does not match `notLike` (SQL LIKE patterns).
 */
export interface SecretMatch {
  readonly like: string;
  readonly notLike?: string | undefined;
}

/** One row's key (as text, in key-column order) and its secret values as stored. */
export interface SecretRow {
  readonly key: readonly string[];
  readonly values: Readonly<Record<string, string>>;
}

export interface SecretRowsStore {
  countSecretRows(arg: { table: SecretTable; match: SecretMatch }): Promise<number>;
  /**
   * The next `limit` matching rows after `after` in key order, locked FOR UPDATE: call it
   * in a transaction, and write them back (updateSecretRows) in the same one.
   */
  lockSecretRows(arg: {
    table: SecretTable;
    match: SecretMatch;
    after: readonly string[] | undefined;
    limit: number;
  }): Promise<SecretRow[]>;
  /** Writes each row's values (secret columns only); returns the rows written. */
  updateSecretRows(arg: { table: SecretTable; rows: readonly SecretRow[] }): Promise<number>;
  /** Empties every secret column of the given rows and sets the table's `cleared` values. */
  clearSecretRows(arg: { table: SecretTable; keys: ReadonlyArray<readonly string[]> }): Promise<number>;
  /**
   * The distinct `length` characters that follow `prefix` in the values of `column` that
   * start with it: the key digests in use. One sequential scan of the table.
   */
  listSecretKeyDigests(arg: {
    table: SecretTable;
    column: string;
    prefix: string;
    length: number;
  }): Promise<string[]>;
}

const ref = (column: string) => sql.ref(column);

function needsWork(t: SecretTable, m: SecretMatch): RawBuilder<boolean> {
  const one = (c: string) =>
    m.notLike === undefined
      ? sql`(${ref(c)} <> '' AND ${ref(c)} LIKE ${m.like})`
      : sql`(${ref(c)} <> '' AND ${ref(c)} LIKE ${m.like} AND ${ref(c)} NOT LIKE ${m.notLike})`;
  return sql<boolean>`(${sql.join(t.columns.map(one), sql` OR `)})`;
}

function checkColumns(t: SecretTable, names: readonly string[]): void {
  for (const n of names) {
    if (!t.columns.includes(n)) throw new Error(`${t.table}.${n} is not a secret column`);
  }
}

// Rows are matched back by their key through jsonb_populate_recordset over the table's own
// row type, so every key column keeps its type (uuid, text…) and the primary key is used.
function keyJoin(t: SecretTable): RawBuilder<boolean> {
  return sql<boolean>`${sql.join(
    t.key.map((k) => sql`t.${ref(k)} = v.${ref(k)}`),
    sql` AND `,
  )}`;
}

function keyObjects(t: SecretTable, keys: ReadonlyArray<readonly string[]>, extra?: (i: number) => object) {
  return JSON.stringify(
    keys.map((key, i) => ({ ...Object.fromEntries(t.key.map((k, j) => [k, key[j]])), ...extra?.(i) })),
  );
}

export function secretRowsStore(db: Kysely<Database>): SecretRowsStore {
  return {
    countSecretRows: async ({ table: t, match }) => {
      const { rows } = await sql<{ n: string }>`
        SELECT count(*) AS n FROM ${sql.table(t.table)} WHERE ${needsWork(t, match)}`.execute(db);
      return Number(rows[0]?.n ?? 0);
    },
    lockSecretRows: async ({ table: t, match, after, limit }) => {
      // Ordered by the table's own key columns (not the ::text copies returned), so the
      // primary key index serves both the keyset condition and the order.
      const keyList = sql.join(t.key.map((k) => sql`t.${ref(k)}`));
      const afterClause =
        after === undefined ? sql`` : sql`AND (${keyList}) > (${sql.join(after.map((v) => sql`${v}`))})`;
      const { rows } = await sql<Record<string, string>>`
        SELECT ${sql.join(t.key.map((k) => sql`t.${ref(k)}::text AS ${ref(`key_${k}`)}`))},
               ${sql.join(t.columns.map((c) => sql`t.${ref(c)}`))}
        FROM ${sql.table(t.table)} AS t
        WHERE ${needsWork(t, match)} ${afterClause}
        ORDER BY ${keyList}
        LIMIT ${limit}
        FOR UPDATE`.execute(db);
      return rows.map((r) => ({
        key: t.key.map((k) => r[`key_${k}`] as string),
        values: Object.fromEntries(t.columns.map((c) => [c, r[c] as string])),
      }));
    },
    updateSecretRows: async ({ table: t, rows }) => {
      if (rows.length === 0) return 0;
      const columns = Object.keys(rows[0]?.values ?? {});
      checkColumns(t, columns);
      const payload = keyObjects(
        t,
        rows.map((r) => r.key),
        (i) => rows[i]?.values ?? {},
      );
      const result = await sql`
        UPDATE ${sql.table(t.table)} AS t
        SET ${sql.join(columns.map((c) => sql`${ref(c)} = v.${ref(c)}`))}
        FROM jsonb_populate_recordset(NULL::${sql.table(t.table)}, ${payload}::jsonb) AS v
        WHERE ${keyJoin(t)}`.execute(db);
      return Number(result.numAffectedRows ?? 0n);
    },
    clearSecretRows: async ({ table: t, keys }) => {
      if (keys.length === 0) return 0;
      const sets = [
        ...t.columns.map((c) => sql`${ref(c)} = ''`),
        ...Object.entries(t.cleared).map(([c, v]) => sql`${ref(c)} = ${v}`),
      ];
      const result = await sql`
        UPDATE ${sql.table(t.table)} AS t
        SET ${sql.join(sets)}
        FROM jsonb_populate_recordset(NULL::${sql.table(t.table)}, ${keyObjects(t, keys)}::jsonb) AS v
        WHERE ${keyJoin(t)}`.execute(db);
      return Number(result.numAffectedRows ?? 0n);
    },
    listSecretKeyDigests: async ({ table: t, column, prefix, length }) => {
      checkColumns(t, [column]);
      // substr and starts_with, not a regular expression: over 100,000 links this is the
      // difference between 0.1 s and 1.7 s of every server's start-up.
      const { rows } = await sql<{ digest: string }>`
        SELECT DISTINCT substr(${ref(column)}, ${prefix.length + 1}, ${length}) AS digest
        FROM ${sql.table(t.table)}
        WHERE starts_with(${ref(column)}, ${prefix})`.execute(db);
      return rows.map((r) => r.digest);
    },
  };
}
