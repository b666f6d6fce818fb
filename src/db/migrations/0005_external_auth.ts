import { type Kysely, sql } from 'kysely';

// The token vault. One link per (user, provider); the provider id comes from configuration,
// so it is not a foreign key: a provider removed from config leaves its links in place
// (re-adding it brings them back) and nothing is refreshed for it meanwhile.
//
// An empty refresh token means "none": a provider that issues none, or one cleared after a
// permanent refresh failure (EA-6). '' rather than NULL so the optimistic update
// `WHERE oauth_refresh_token = $old` and encryption (DC) treat both cases alike.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE external_auth_links (
      user_id                      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      provider_id                  text NOT NULL CHECK (provider_id ~ '^[a-z0-9-]{1,64}$'),
      oauth_access_token           text NOT NULL DEFAULT '',
      oauth_refresh_token          text NOT NULL DEFAULT '',
      oauth_expiry                 timestamptz,
      oauth_token_issued_at        timestamptz NOT NULL DEFAULT now(),
      oauth_extra                  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(oauth_extra) = 'object'),
      oauth_refresh_failure_reason text NOT NULL DEFAULT '',
      -- Who the user is upstream (GitHub login, GitLab username, OIDC preferred_username),
      -- as the provider said when the link was made; shown to the user, never trusted for access.
      upstream_login               text NOT NULL DEFAULT '',
      created_at                   timestamptz NOT NULL DEFAULT now(),
      updated_at                   timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, provider_id)
    )`.execute(db);
  // A link flow in progress: the state parameter (stored hashed) ties the callback to the
  // user who started it, and carries the PKCE verifier and where to go afterwards.
  await sql`
    CREATE TABLE external_auth_link_states (
      state_hash    bytea PRIMARY KEY CHECK (length(state_hash) = 32),
      user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      provider_id   text NOT NULL,
      code_verifier text NOT NULL DEFAULT '',
      redirect_uri  text NOT NULL,
      return_to     text NOT NULL DEFAULT '/',
      expires_at    timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX external_auth_link_states_expires_at ON external_auth_link_states (expires_at)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE external_auth_link_states`.execute(db);
  await sql`DROP TABLE external_auth_links`.execute(db);
}
