import { type Kysely, sql } from 'kysely';

// A user's link to the OIDC identity provider they sign in with (AK-6), apart from their
// session keys: a session is valid only while both the key and this link are. The tokens
// are refreshed exactly once like external-auth links ('' = no refresh token). `claims`
// holds the identity claims Latchkey maps (a fixed shape, checked by zod on read and
// write), not a copy of whatever the provider sent.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE oidc_links (
      user_id                      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
      issuer                       text NOT NULL,
      subject                      text NOT NULL,
      oauth_access_token           text NOT NULL DEFAULT '',
      oauth_refresh_token          text NOT NULL DEFAULT '',
      oauth_expiry                 timestamptz,
      oauth_token_issued_at        timestamptz NOT NULL DEFAULT now(),
      oauth_refresh_failure_reason text NOT NULL DEFAULT '',
      claims                       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(claims) = 'object'),
      created_at                   timestamptz NOT NULL DEFAULT now(),
      updated_at                   timestamptz NOT NULL DEFAULT now(),
      UNIQUE (issuer, subject)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE oidc_links`.execute(db);
}
