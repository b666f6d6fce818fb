import { type Kysely, sql } from 'kysely';

// Custom roles belong to one organization and grant permissions inside it (org level)
// and on what their holders own there (user level). Deleting one keeps the row (audit)
// and frees the name; role expansion skips deleted roles.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE custom_roles (
      id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id  uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      name             text NOT NULL CHECK (name ~ '^[a-z][a-z0-9-]{0,63}$'),
      display_name     text NOT NULL DEFAULT '',
      org_permissions  jsonb NOT NULL DEFAULT '[]',
      user_permissions jsonb NOT NULL DEFAULT '[]',
      deleted          boolean NOT NULL DEFAULT false,
      created_at       timestamptz NOT NULL DEFAULT now(),
      updated_at       timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX custom_roles_name_key ON custom_roles (organization_id, name) WHERE NOT deleted`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE custom_roles`.execute(db);
}
