import { type Kysely, sql } from 'kysely';

// JWT access tokens (RFC 9068). Signing keys are shared by every replica, so they live
// here. One row per generation: replicas that decide to rotate at the same moment insert
// the same generation and all but one insert nothing. The public half is published at
// /.well-known/jwks.json from its creation (before it signs anything, so resource servers
// that cache the key set see it first); the private half is sealed with dbcrypt's primary
// key when one is configured (src/oauth2/signing-keys.ts says what happens when it cannot
// be opened).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE oauth2_signing_keys (
      kid          text PRIMARY KEY CHECK (length(kid) BETWEEN 1 AND 128),
      generation   integer NOT NULL UNIQUE CHECK (generation > 0),
      alg          text NOT NULL CHECK (alg IN ('ES256', 'EdDSA')),
      public_jwk   jsonb NOT NULL CHECK (jsonb_typeof(public_jwk) = 'object'),
      -- The private JWK as JSON text, or dbcrypt ciphertext of it.
      private_jwk  text NOT NULL,
      -- Signs from this moment (a later generation's activation ends its signing).
      activates_at timestamptz NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  // Per client: admin apps may ask for JWT access tokens whatever their audience.
  await sql`
    ALTER TABLE oauth2_apps
      ADD COLUMN access_token_format text NOT NULL DEFAULT 'opaque'
        CHECK (access_token_format IN ('opaque', 'jwt'))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE oauth2_apps DROP COLUMN access_token_format`.execute(db);
  await sql`DROP TABLE oauth2_signing_keys`.execute(db);
}
