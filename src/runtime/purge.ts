import { type AuthzStore, systemActors } from '../authz/index.ts';
import { RETIRED_KEY_RETENTION_MS } from '../oauth2/index.ts';
import type { Logger } from '../observability/index.ts';

// Expired rows pile up otherwise: API keys and sessions, OAuth codes and refresh tokens.
// Every replica runs this; the deletes are idempotent, so replicas racing each other only
// find less to do. Rows are kept a day past expiry so a replayed code or a late refresh
// retry is still recognised for what it is (and revokes what it should) rather than
// looking unknown.

export const PURGE_INTERVAL_MS = 3_600_000;
export const PURGE_RETAIN_MS = 86_400_000;

export interface PurgeResult {
  readonly apiKeys: number;
  readonly oauth2Grants: number;
  readonly signingKeys: number;
}

/** Deletes what expired more than `retainMs` ago, as systemPurge. */
export async function purgeExpired(
  authz: AuthzStore,
  now: Date,
  retainMs = PURGE_RETAIN_MS,
): Promise<PurgeResult> {
  const store = authz.as(systemActors.systemPurge);
  const before = new Date(now.getTime() - retainMs);
  const apiKeys = await store.deleteExpiredApiKeys({ before });
  const oauth2Grants = await store.deleteExpiredOAuth2Grants({ before });
  // JWT signing keys: withdrawn once no token they signed can still be valid.
  const signingKeys = await store.deleteRetiredOAuth2SigningKeys({
    retiredBefore: new Date(now.getTime() - RETIRED_KEY_RETENTION_MS),
  });
  return { apiKeys, oauth2Grants, signingKeys };
}

/** Runs purgeExpired a minute after start, then every interval; never holds the process open. */
export function startPurge(authz: AuthzStore, logger: Logger, intervalMs = PURGE_INTERVAL_MS): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const run = async () => {
    try {
      const result = await purgeExpired(authz, new Date());
      if (result.apiKeys + result.oauth2Grants + result.signingKeys > 0) {
        logger.info(result, 'purged expired keys and grants');
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'purging expired rows failed; will retry');
    }
    if (!stopped) schedule(intervalMs);
  };
  const schedule = (ms: number) => {
    timer = setTimeout(() => void run(), ms);
    timer.unref();
  };
  schedule(Math.min(60_000, intervalMs));
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
