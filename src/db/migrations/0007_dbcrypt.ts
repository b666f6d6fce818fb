import { type Kysely, sql } from 'kysely';

// Encryption at rest (DC-1). Every key that has encrypted data is recorded here by its
// digest (the first 8 bytes of SHA-256 of the key, in hex; never the key itself): servers
// register the key they encrypt with when they start, and `latchkey dbcrypt rotate |
// decrypt | delete` revoke keys once no value needs them. A revoked key never encrypts
// again, and data found encrypted with one stops a server from starting (DC-3).
//
// Which key encrypted a value is written in the value itself (see src/dbcrypt/cipher.ts),
// so secret columns need no companion column and adding one is a registry entry.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE dbcrypt_keys (
      digest     text PRIMARY KEY CHECK (digest ~ '^[0-9a-f]{16}$'),
      status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz,
      CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE dbcrypt_keys`.execute(db);
}
