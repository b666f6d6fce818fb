// How routes and the CLI name users and organizations. The patterns match the tables'
// CHECK constraints: a reference that does not fit names nothing and is never sent to
// PostgreSQL (which rejects some strings, e.g. with NUL, with an error rather than a miss).

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const USERNAME_RULE = 'letters, digits, dot, dash, underscore; at most 64';
export const ORGANIZATION_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

export function isUuid(ref: string): boolean {
  return UUID_PATTERN.test(ref);
}
