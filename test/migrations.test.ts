import pg from 'pg';
import { expect, it } from 'vitest';
import { KNOWN_MIGRATIONS, migrateToLatest, migrationStatus, openDatabase } from '../src/db/index.ts';
import { createLogger, Metrics } from '../src/observability/index.ts';
import { useTestDatabase } from './kit/database.ts';

const db = useTestDatabase({ empty: true });

it('lets replicas that start together all migrate: one applies, the others find nothing to do', async () => {
  const replicas = Array.from({ length: 4 }, () =>
    openDatabase({
      url: db.url,
      poolMax: 2,
      metrics: new Metrics({ processMetrics: false }),
      logger: createLogger('silent'),
    }),
  );
  try {
    const results = await Promise.all(replicas.map((r) => migrateToLatest(r.db)));
    const applied = results.flat().map((r) => r.migrationName);
    expect(applied).toEqual(KNOWN_MIGRATIONS);
    const status = await migrationStatus(replicas[0]?.db as never);
    expect(status.every((s) => s.appliedAt instanceof Date)).toBe(true);
  } finally {
    await Promise.all(replicas.map((r) => r.close()));
  }

  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const { rows } = await client.query(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name NOT LIKE 'kysely%' ORDER BY 1",
  );
  const defaults = await client.query('SELECT count(*) AS n FROM organizations WHERE is_default');
  await client.end();
  expect(rows.map((r) => r.table_name)).toEqual([
    'api_keys',
    'custom_roles',
    'dbcrypt_keys',
    'external_auth_link_states',
    'external_auth_links',
    'oauth2_app_secrets',
    'oauth2_apps',
    'oauth2_codes',
    'oauth2_consents',
    'oauth2_refresh_tokens',
    'oauth2_signing_keys',
    'oidc_links',
    'organization_members',
    'organizations',
    'rate_limits',
    'users',
  ]);
  expect(defaults.rows[0].n).toBe(1);
});
