import { randomBytes } from 'node:crypto';

export const TEST_DB_PREFIX = 'lkt_';
export const STALE_AFTER_MS = 3 * 3600_000;

/** lkt_<kind>_<epoch ms>_<random>: unique, and old ones can be recognised and dropped. */
export function testDatabaseName(kind: string): string {
  return `${TEST_DB_PREFIX}${kind}_${Date.now()}_${randomBytes(4).toString('hex')}`;
}

/** The same server and credentials, connected to the `postgres` maintenance database. */
export function adminUrlOf(url: string): string {
  return databaseUrl(url, 'postgres');
}

export function databaseUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.href;
}
