import { type Kysely, sql } from 'kysely';

// API keys and sessions (a session is a key with login_type password/oidc). The id is
// public; only the SHA-256 of the secret is stored.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE api_keys (
      id               text PRIMARY KEY CHECK (id ~ '^[0-9A-Za-z]{10}$'),
      hashed_secret    bytea NOT NULL CHECK (length(hashed_secret) = 32),
      user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      name             text NOT NULL DEFAULT '',
      login_type       text NOT NULL CHECK (login_type IN ('password', 'oidc', 'token', 'oauth2_app')),
      scopes           text[] NOT NULL DEFAULT '{latchkey:all}',
      allow_list       text[] NOT NULL DEFAULT '{*:*}',
      lifetime_seconds integer NOT NULL CHECK (lifetime_seconds > 0),
      expires_at       timestamptz NOT NULL,
      last_used        timestamptz NOT NULL DEFAULT now(),
      created_at       timestamptz NOT NULL DEFAULT now(),
      updated_at       timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX api_keys_user_id ON api_keys (user_id)`.execute(db);
  await sql`CREATE INDEX api_keys_expires_at ON api_keys (expires_at)`.execute(db);
  // Named tokens are addressed by name, so a user's token names are unique.
  await sql`CREATE UNIQUE INDEX api_keys_token_name ON api_keys (user_id, name) WHERE login_type = 'token'`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE api_keys`.execute(db);
}
