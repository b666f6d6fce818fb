import { type AuthzStore, authorizingStore, systemActors } from '../authz/index.ts';
import type { Config } from '../config/index.ts';
import { createStore, type DatabaseHandle, type PubSub, type StoreHooks } from '../db/index.ts';
import { dbcryptStore, type Keyring } from '../dbcrypt/index.ts';
import {
  type LinkFlowDeps,
  providerRegistry,
  pubsubLinkEvents,
  RateLimitWarnings,
  Refresher,
  type RefreshTiming,
  Vault,
} from '../externalauth/index.ts';
import type { Logger, Metrics } from '../observability/index.ts';

export interface VaultWiring {
  readonly vault: Vault;
  /** Also refreshes OIDC login links (AK-6). */
  readonly refresher: Refresher;
  readonly linkFlow: LinkFlowDeps;
  close(): Promise<void>;
}

/** Builds the token vault for one server: providers from config, refresher, link events. */
export async function wireVault(input: {
  readonly config: Config;
  readonly database: DatabaseHandle;
  /** Encrypts upstream tokens at rest; the refresher's store goes through it too. */
  readonly keyring: Keyring;
  readonly pubsub: PubSub;
  /** Tells link caches that the refresher changed a link (see LinkCache). */
  readonly linkChanged: NonNullable<StoreHooks['linkChanged']>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Tests shorten the retry timing of refreshes. */
  readonly refreshTiming?: Partial<RefreshTiming> | undefined;
  /** Allow http:// OIDC issuers (tests with fake providers). */
  readonly allowInsecureIssuers?: boolean | undefined;
}): Promise<VaultWiring> {
  const { config, database, logger } = input;
  const clock = () => new Date();
  const registry = providerRegistry(config.externalAuth, {
    logger,
    allowInsecureIssuers: input.allowInsecureIssuers ?? false,
  });
  const events = await pubsubLinkEvents(input.pubsub);
  const rateLimitWarnings = new RateLimitWarnings(logger);
  // The refresher works on the connection holding the link's lock, as its own system actor.
  const refresher = new Refresher({
    db: database.db,
    storeOn: (conn) =>
      refresherStore(
        authorizingStore(
          dbcryptStore(createStore(conn, database.inTx, { linkChanged: input.linkChanged }), input.keyring),
        ),
      ),
    clock,
    logger,
    metrics: input.metrics,
    refreshAheadMs: config.externalAuthRefreshAhead,
    timing: input.refreshTiming ?? {},
    // Each refresh in progress holds a connection; leave most of the pool to requests.
    maxConcurrent: Math.max(1, Math.floor(config.dbPoolMax / 2)),
    rateLimitWarnings,
  });
  const vault = new Vault({
    registry,
    refresher,
    events,
    clock,
    logger,
    refreshAheadMs: config.externalAuthRefreshAhead,
    rateLimitWarnings,
  });
  const linkFlow: LinkFlowDeps = { registry, events, clock, accessUrl: config.accessUrl };
  return { vault, refresher, linkFlow, close: events.close };
}

function refresherStore(authz: AuthzStore) {
  return authz.as(systemActors.systemExternalAuthRefresher);
}
