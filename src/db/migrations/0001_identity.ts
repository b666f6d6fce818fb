import { type Kysely, sql } from 'kysely';

// The tables every capability starts from: users, organizations and their members.
// Later capabilities add their own numbered migrations; never edit a released one.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE users (
      id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email           text NOT NULL CHECK (email <> ''),
      username        text NOT NULL CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
      name            text NOT NULL DEFAULT '',
      hashed_password text,
      login_type      text NOT NULL DEFAULT 'password' CHECK (login_type IN ('password', 'oidc', 'none')),
      status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'dormant')),
      rbac_roles      text[] NOT NULL DEFAULT '{}',
      is_system       boolean NOT NULL DEFAULT false,
      deleted         boolean NOT NULL DEFAULT false,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      last_seen_at    timestamptz
    )`.execute(db);
  // Deleted users keep their row (audit, foreign keys) but free their name and email.
  await sql`CREATE UNIQUE INDEX users_username_key ON users (lower(username)) WHERE NOT deleted`.execute(db);
  await sql`CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE NOT deleted`.execute(db);

  await sql`
    CREATE TABLE organizations (
      id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name         text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
      display_name text NOT NULL DEFAULT '',
      description  text NOT NULL DEFAULT '',
      icon         text NOT NULL DEFAULT '',
      is_default   boolean NOT NULL DEFAULT false,
      deleted      boolean NOT NULL DEFAULT false,
      created_at   timestamptz NOT NULL DEFAULT now(),
      updated_at   timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX organizations_name_key ON organizations (name) WHERE NOT deleted`.execute(db);
  // At most one default organization, enforced by the database rather than by code.
  await sql`CREATE UNIQUE INDEX organizations_single_default ON organizations (is_default) WHERE is_default`.execute(
    db,
  );
  await sql`
    INSERT INTO organizations (name, display_name, description, is_default)
    VALUES ('default', 'Default', 'The organization every user belongs to.', true)`.execute(db);

  await sql`
    CREATE TABLE organization_members (
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      roles           text[] NOT NULL DEFAULT '{}',
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (organization_id, user_id)
    )`.execute(db);
  await sql`CREATE INDEX organization_members_user_id ON organization_members (user_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE organization_members`.execute(db);
  await sql`DROP TABLE organizations`.execute(db);
  await sql`DROP TABLE users`.execute(db);
}
