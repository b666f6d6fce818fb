import { type Kysely, sql } from 'kysely';

// The OAuth 2.1 authorization server (OA). Every secret is stored as a SHA-256 hash:
// client secrets, registration access tokens, codes, refresh tokens. Access tokens are
// API keys (login type oauth2_app), so the API's one validation path serves them, bound to
// an audience (RFC 8707) and limited to the negotiated scopes.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE oauth2_apps (
      id                         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      -- A random id for registered and admin apps; the document URL for metadata-document clients.
      client_id                  text NOT NULL UNIQUE CHECK (length(client_id) BETWEEN 1 AND 2048),
      -- 'dynamic' (RFC 7591), 'admin' (created in the API), 'metadata_document' (an HTTPS client_id URL).
      origin                     text NOT NULL CHECK (origin IN ('dynamic', 'admin', 'metadata_document')),
      name                       text NOT NULL DEFAULT '',
      application_type           text NOT NULL DEFAULT 'web' CHECK (application_type IN ('web', 'native')),
      token_endpoint_auth_method text NOT NULL
        CHECK (token_endpoint_auth_method IN ('none', 'client_secret_basic', 'client_secret_post')),
      redirect_uris              text[] NOT NULL DEFAULT '{}',
      grant_types                text[] NOT NULL DEFAULT '{authorization_code}',
      response_types             text[] NOT NULL DEFAULT '{code}',
      -- The client's scope ceiling ('' = none registered: it gets what it asks for).
      scope                      text NOT NULL DEFAULT '',
      -- Everything else the client registered, echoed back as given (RFC 7591 §3.2.1).
      metadata                   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
      registration_token_hash    bytea CHECK (registration_token_hash IS NULL OR length(registration_token_hash) = 32),
      created_by                 uuid REFERENCES users (id) ON DELETE SET NULL,
      created_at                 timestamptz NOT NULL DEFAULT now(),
      updated_at                 timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`
    CREATE TABLE oauth2_app_secrets (
      id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      app_id        uuid NOT NULL REFERENCES oauth2_apps (id) ON DELETE CASCADE,
      -- The first characters, shown to admins so they can tell secrets apart.
      display_prefix text NOT NULL,
      hashed_secret bytea NOT NULL UNIQUE CHECK (length(hashed_secret) = 32),
      last_used_at  timestamptz,
      created_at    timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX oauth2_app_secrets_app ON oauth2_app_secrets (app_id)`.execute(db);
  await sql`
    CREATE TABLE oauth2_codes (
      id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      code_hash       bytea NOT NULL UNIQUE CHECK (length(code_hash) = 32),
      app_id          uuid NOT NULL REFERENCES oauth2_apps (id) ON DELETE CASCADE,
      user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      redirect_uri    text NOT NULL,
      code_challenge  text NOT NULL,
      resource        text NOT NULL,
      scope           text NOT NULL,
      -- Set when redeemed: a second redemption is a replay and revokes what the first issued:
      -- the refresh-token family whose id is this code's id, and this access token.
      redeemed_at     timestamptz,
      api_key_id      text REFERENCES api_keys (id) ON DELETE SET NULL,
      expires_at      timestamptz NOT NULL,
      created_at      timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX oauth2_codes_expires_at ON oauth2_codes (expires_at)`.execute(db);
  // One row per refresh token. A family is everything descended from one authorization
  // (its id is the code's id); rotation marks the old row rotated and points it at its
  // successor, reuse after the grace window revokes the family. Within the window a repeat
  // is answered with that same successor: its tokens are derived from the presented token
  // and successor_seed (src/oauth2/grants/refresh-token.ts), so neither is stored.
  await sql`
    CREATE TABLE oauth2_refresh_tokens (
      id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
      family_id     uuid NOT NULL,
      app_id        uuid NOT NULL REFERENCES oauth2_apps (id) ON DELETE CASCADE,
      user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      code_id       uuid REFERENCES oauth2_codes (id) ON DELETE SET NULL,
      -- The access token (an API key) issued together with this refresh token.
      api_key_id    text REFERENCES api_keys (id) ON DELETE SET NULL,
      resource      text NOT NULL,
      scope         text NOT NULL,
      rotated_at    timestamptz,
      successor_id  uuid,
      -- Random, set at rotation: with the presented token it re-derives the successor's tokens.
      successor_seed bytea CHECK (successor_seed IS NULL OR length(successor_seed) = 32),
      revoked_at    timestamptz,
      expires_at    timestamptz NOT NULL,
      created_at    timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX oauth2_refresh_tokens_family ON oauth2_refresh_tokens (family_id)`.execute(db);
  await sql`CREATE INDEX oauth2_refresh_tokens_expires_at ON oauth2_refresh_tokens (expires_at)`.execute(db);
  await sql`CREATE INDEX oauth2_refresh_tokens_user_app ON oauth2_refresh_tokens (user_id, app_id)`.execute(
    db,
  );
  await sql`
    CREATE TABLE oauth2_consents (
      user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      app_id     uuid NOT NULL REFERENCES oauth2_apps (id) ON DELETE CASCADE,
      -- What the user allowed, space separated; a request it covers skips the consent page.
      scope      text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, app_id)
    )`.execute(db);
  // Access tokens are API keys: which audience (RFC 8707 resource) and app each is for.
  await sql`ALTER TABLE api_keys ADD COLUMN audience text NOT NULL DEFAULT ''`.execute(db);
  await sql`ALTER TABLE api_keys ADD COLUMN oauth2_app_id uuid REFERENCES oauth2_apps (id) ON DELETE CASCADE`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE api_keys DROP COLUMN oauth2_app_id`.execute(db);
  await sql`ALTER TABLE api_keys DROP COLUMN audience`.execute(db);
  await sql`DROP TABLE oauth2_consents`.execute(db);
  await sql`DROP TABLE oauth2_refresh_tokens`.execute(db);
  await sql`DROP TABLE oauth2_codes`.execute(db);
  await sql`DROP TABLE oauth2_app_secrets`.execute(db);
  await sql`DROP TABLE oauth2_apps`.execute(db);
}
