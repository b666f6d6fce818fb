import type { Migration } from 'kysely/migration';
import * as m0001 from './0001_identity.ts';
import * as m0002 from './0002_custom_roles.ts';
import * as m0003 from './0003_api_keys.ts';
import * as m0004 from './0004_rate_limits.ts';
import * as m0005 from './0005_external_auth.ts';
import * as m0006 from './0006_oidc_links.ts';
import * as m0007 from './0007_dbcrypt.ts';
import * as m0008 from './0008_oauth2.ts';
import * as m0009 from './0009_oauth2_signing_keys.ts';

// Listed explicitly rather than read from the folder: the set of migrations is then part
// of the code under review, type-checked, and identical in every replica.
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_identity': m0001,
  '0002_custom_roles': m0002,
  '0003_api_keys': m0003,
  '0004_rate_limits': m0004,
  '0005_external_auth': m0005,
  '0006_oidc_links': m0006,
  '0007_dbcrypt': m0007,
  '0008_oauth2': m0008,
  '0009_oauth2_signing_keys': m0009,
};
