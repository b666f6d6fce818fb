import type pg from 'pg';

// A PostgreSQL adapter for oidc-provider, written for the OAuth benchmark (bench/oauth2.ts)
// so oidc-provider is measured on the same database Latchkey uses. oidc-provider asks its
// adapter for one object per model name ('AccessToken', 'RefreshToken', 'Grant', …); each
// stores payloads by id and answers the lookups the models make:
//
//   upsert(id, payload, expiresIn)  find(id)  findByUid(uid)  findByUserCode(userCode)
//   consume(id)  destroy(id)  revokeByGrantId(grantId)
//
// Every model shares one table, told apart by `type`. The columns the lookups filter on
// (grant, session uid, user code) are copied out of the payload; `consumed` lives beside
// it, as consume() must not rewrite the payload. An expired row is never returned
// (oidc-provider's own memory and Redis adapters forget them at their TTL the same way),
// and nothing here deletes them: a purge job would, as Latchkey's purges its own.
// Every method is one statement, sent on a pooled connection in autocommit and prepared
// once per connection (the texts are fixed), as an adapter written for speed would be.

export const OIDC_PAYLOADS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS oidc_payloads (
    id          text NOT NULL,
    type        text NOT NULL,
    payload     jsonb NOT NULL,
    grant_id    text,
    uid         text,
    user_code   text,
    consumed_at timestamptz,
    expires_at  timestamptz,
    PRIMARY KEY (id, type)
  );
  CREATE INDEX IF NOT EXISTS oidc_payloads_grant_id ON oidc_payloads (grant_id) WHERE grant_id IS NOT NULL;
  CREATE INDEX IF NOT EXISTS oidc_payloads_uid ON oidc_payloads (uid) WHERE uid IS NOT NULL;
  CREATE INDEX IF NOT EXISTS oidc_payloads_user_code ON oidc_payloads (user_code) WHERE user_code IS NOT NULL;
  CREATE INDEX IF NOT EXISTS oidc_payloads_expires_at ON oidc_payloads (expires_at);
`;

/** A stored payload as oidc-provider reads it back. */
export type OidcPayload = Record<string, unknown> & {
  readonly grantId?: string;
  readonly uid?: string;
  readonly userCode?: string;
  consumed?: number;
};

interface Row {
  readonly id: string;
  readonly type: string;
  readonly payload: OidcPayload;
  readonly expiresIn: number | undefined;
}

const LIVE = '(expires_at IS NULL OR expires_at > now())';

function fromRow(
  row: { payload: OidcPayload; consumed_at: Date | null } | undefined,
): OidcPayload | undefined {
  if (!row) return undefined;
  if (row.consumed_at !== null) row.payload.consumed = Math.floor(row.consumed_at.getTime() / 1000);
  return row.payload;
}

export class PostgresAdapter {
  /** Statements sent, for round trips per request. */
  static queries = 0;
  static #pool: pg.Pool | undefined;
  /** Rows held back by `deferWrites`, or undefined when upserts go to the database at once. */
  static #deferred: Row[] | undefined;

  /** The pool every adapter instance uses; call once before the provider is created. */
  static use(pool: pg.Pool): void {
    PostgresAdapter.#pool = pool;
  }

  /** Sends one statement; a named one is prepared once per connection (its text never changes). */
  static async query<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[],
    name?: string,
  ): Promise<pg.QueryResult<R>> {
    const pool = PostgresAdapter.#pool;
    if (!pool) throw new Error('PostgresAdapter.use(pool) was not called');
    PostgresAdapter.queries++;
    return pool.query<R>(name === undefined ? { text, values } : { name, text, values });
  }

  /**
   * Benchmark set-up only: the upserts `mint` makes (through the models' own save()) are
   * collected and written with one multi-row INSERT per 5,000, so minting thousands of
   * codes and refresh tokens takes seconds instead of one round trip each. Never used
   * while anything is being measured.
   */
  static async deferWrites(mint: () => Promise<void>): Promise<number> {
    const rows: Row[] = [];
    PostgresAdapter.#deferred = rows;
    try {
      await mint();
    } finally {
      PostgresAdapter.#deferred = undefined;
    }
    for (let i = 0; i < rows.length; i += 5000) {
      const chunk = rows.slice(i, i + 5000);
      await PostgresAdapter.query(
        `INSERT INTO oidc_payloads (id, type, payload, grant_id, uid, user_code, expires_at)
         SELECT id, type, payload, grant_id, uid, user_code,
                CASE WHEN ttl IS NULL THEN NULL ELSE now() + make_interval(secs => ttl) END
         FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::text[], $5::text[], $6::text[], $7::int[])
              AS r(id, type, payload, grant_id, uid, user_code, ttl)`,
        [
          chunk.map((r) => r.id),
          chunk.map((r) => r.type),
          chunk.map((r) => JSON.stringify(r.payload)),
          chunk.map((r) => r.payload.grantId ?? null),
          chunk.map((r) => r.payload.uid ?? null),
          chunk.map((r) => r.payload.userCode ?? null),
          chunk.map((r) => r.expiresIn ?? null),
        ],
      );
    }
    return rows.length;
  }

  readonly #type: string;

  constructor(type: string) {
    this.#type = type;
  }

  async upsert(id: string, payload: OidcPayload, expiresIn?: number): Promise<void> {
    const deferred = PostgresAdapter.#deferred;
    if (deferred) {
      deferred.push({ id, type: this.#type, payload, expiresIn });
      return;
    }
    // A re-saved payload replaces the stored one whole, consumption included, as
    // oidc-provider's memory adapter does.
    await PostgresAdapter.query(
      `INSERT INTO oidc_payloads (id, type, payload, grant_id, uid, user_code, consumed_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::int IS NULL THEN NULL ELSE to_timestamp($7::int) END,
               CASE WHEN $8::int IS NULL THEN NULL ELSE now() + make_interval(secs => $8::int) END)
       ON CONFLICT (id, type) DO UPDATE
       SET payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid,
           user_code = excluded.user_code, consumed_at = excluded.consumed_at, expires_at = excluded.expires_at`,
      [
        id,
        this.#type,
        payload,
        payload.grantId ?? null,
        payload.uid ?? null,
        payload.userCode ?? null,
        payload.consumed ?? null,
        expiresIn ?? null,
      ],
      'oidc_upsert',
    );
  }

  async find(id: string): Promise<OidcPayload | undefined> {
    const { rows } = await PostgresAdapter.query<{ payload: OidcPayload; consumed_at: Date | null }>(
      `SELECT payload, consumed_at FROM oidc_payloads WHERE id = $1 AND type = $2 AND ${LIVE}`,
      [id, this.#type],
      'oidc_find',
    );
    return fromRow(rows[0]);
  }

  async findByUid(uid: string): Promise<OidcPayload | undefined> {
    const { rows } = await PostgresAdapter.query<{ payload: OidcPayload; consumed_at: Date | null }>(
      `SELECT payload, consumed_at FROM oidc_payloads WHERE uid = $1 AND type = $2 AND ${LIVE}`,
      [uid, this.#type],
      'oidc_find_by_uid',
    );
    return fromRow(rows[0]);
  }

  async findByUserCode(userCode: string): Promise<OidcPayload | undefined> {
    const { rows } = await PostgresAdapter.query<{ payload: OidcPayload; consumed_at: Date | null }>(
      `SELECT payload, consumed_at FROM oidc_payloads WHERE user_code = $1 AND type = $2 AND ${LIVE}`,
      [userCode, this.#type],
      'oidc_find_by_user_code',
    );
    return fromRow(rows[0]);
  }

  async consume(id: string): Promise<void> {
    await PostgresAdapter.query(
      'UPDATE oidc_payloads SET consumed_at = now() WHERE id = $1 AND type = $2',
      [id, this.#type],
      'oidc_consume',
    );
  }

  async destroy(id: string): Promise<void> {
    await PostgresAdapter.query(
      'DELETE FROM oidc_payloads WHERE id = $1 AND type = $2',
      [id, this.#type],
      'oidc_destroy',
    );
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await PostgresAdapter.query(
      'DELETE FROM oidc_payloads WHERE grant_id = $1 AND type = $2',
      [grantId, this.#type],
      'oidc_revoke_by_grant_id',
    );
  }
}
