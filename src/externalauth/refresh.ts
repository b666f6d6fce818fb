import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import {
  type Database,
  type DataStore,
  type ExternalAuthLink,
  LockTimeoutError,
  withAdvisoryLock,
} from '../db/index.ts';
import type { Metrics } from '../observability/index.ts';
import { vaultErrors } from './errors.ts';
import { isFresh, isUnexpired } from './freshness.ts';
import { EXTERNAL_AUTH_LINKS, type LinkTable, type RefreshableLink } from './link-tables.ts';
import type { UpstreamProvider } from './provider.ts';
import { requestToken, type TokenResult, toLinkTokens } from './token-client.ts';
import { type RateLimitWarnings, validateToken } from './validate.ts';

// Refreshing an upstream token exactly once.
//
// The reference platform lost users' GitHub links in production: parallel builds of one
// user raced to spend a single-use refresh token, the provider honoured the first and
// answered bad_refresh_token to the rest, and a loser then recorded the failure over the
// winner's fresh token. Each rule below closes one way that happens (EA-3…EA-7):
//
// 1. In-process single-flight per (user, provider): callers on this replica share one
//    refresh; the one doing it re-reads the link first.
// 2. Across replicas, a PostgreSQL advisory lock on the link, held only around the upstream
//    call: the provider sees one refresh per expiry. Waiters re-read when they get the lock
//    and find the winner's fresh token, so they never spend the old refresh token.
// 3. The save is optimistic, `WHERE oauth_refresh_token = $old`: should two refreshers ever
//    overlap (a lock lost with its connection), the loser's write changes nothing.
// 4. The new tokens are saved the moment the provider returns them, before anything else
//    can fail, by work no request owns: a caller that gives up or times out cannot cancel it
//    (the refresh runs detached from the request; the caller only awaits it). The provider
//    has already spent the old token; losing the new one would lose the link.
// 5. Before recording bad_refresh_token, re-read: a refresh token that changed (and is not
//    empty) means someone else refreshed meanwhile — return theirs.
// 6. A permanent failure is recorded and the refresh token cleared ('' so it survives
//    encryption), after which calls fail here without contacting the provider until the
//    user links again. Transient failures (5xx, 429, 403, network) are retried within a
//    budget and never recorded: a valid token is never destroyed by an outage, and an
//    access token that has not expired yet is still handed out.

export interface RefreshTiming {
  /** Longest single call to the provider's token endpoint. */
  readonly upstreamTimeoutMs: number;
  /** Longest wait for another replica's refresh of the same link. */
  readonly lockTimeoutMs: number;
  /** Total time transient failures may be retried within one refresh. */
  readonly retryBudgetMs: number;
  /** First retry delay; doubled each attempt, with full jitter. */
  readonly retryBaseMs: number;
  readonly maxAttempts: number;
}

export const DEFAULT_REFRESH_TIMING: RefreshTiming = {
  upstreamTimeoutMs: 10_000,
  lockTimeoutMs: 30_000,
  retryBudgetMs: 8_000,
  retryBaseMs: 250,
  maxAttempts: 4,
};

export interface RefresherDeps {
  readonly db: Kysely<Database>;
  /** The store as systemExternalAuthRefresher, on the given connection. */
  readonly storeOn: (conn: Kysely<Database>) => DataStore;
  readonly clock: () => Date;
  readonly random?: () => number;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  /** Refresh lead before expiry (EA-9); see freshness.ts. */
  readonly refreshAheadMs: number;
  readonly timing?: Partial<RefreshTiming>;
  /** Links refreshed at once on this replica; each holds a database connection meanwhile. */
  readonly maxConcurrent?: number;
  readonly fetch?: typeof fetch | undefined;
  readonly rateLimitWarnings?: RateLimitWarnings | undefined;
}

export class Refresher {
  readonly #deps: RefresherDeps;
  readonly #timing: RefreshTiming;
  readonly #inflight = new Map<string, Promise<RefreshableLink>>();
  readonly #slots: Semaphore;

  constructor(deps: RefresherDeps) {
    this.#deps = deps;
    this.#timing = { ...DEFAULT_REFRESH_TIMING, ...deps.timing };
    this.#slots = new Semaphore(deps.maxConcurrent ?? 4);
  }

  /**
   * A usable external-auth link for (user, provider), refreshing it if it is due. Resolves
   * with the link row as saved; rejects with a VaultError (relink_required,
   * upstream_unavailable, upstream_error, not_linked). The caller must already have been
   * allowed to read the link.
   */
  refresh(provider: UpstreamProvider, userId: string): Promise<ExternalAuthLink> {
    return this.refreshLink(EXTERNAL_AUTH_LINKS, provider, userId);
  }

  /** The same for any kind of link (OIDC login links use it, AK-6). */
  refreshLink<L extends RefreshableLink>(
    table: LinkTable<L>,
    provider: UpstreamProvider,
    userId: string,
  ): Promise<L> {
    const key = `${table.kind}\u0000${userId}\u0000${provider.id}`;
    const running = this.#inflight.get(key) as Promise<L> | undefined;
    if (running) {
      this.#deps.metrics?.externalAuthRefreshes.inc({ provider: provider.id, outcome: 'joined' });
      return running;
    }
    const started = this.#slots
      .run(() => this.#refreshLocked(table, provider, userId))
      .finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, started);
    return started;
  }

  async #refreshLocked<L extends RefreshableLink>(
    table: LinkTable<L>,
    provider: UpstreamProvider,
    userId: string,
  ): Promise<L> {
    const lockName = `latchkey:${table.kind}:${userId}:${provider.id}`;
    try {
      const { link, refreshed } = await withAdvisoryLock(
        this.#deps.db,
        lockName,
        this.#timing.lockTimeoutMs,
        (conn) => this.#refreshHoldingLock(table, provider, userId, this.#deps.storeOn(conn)),
      );
      if (refreshed) {
        // With the new token safe and the lock released, ask the provider whether it works.
        // The answer is logged, never acted on, and nobody waits for it: a rate-limited or
        // failing check must neither cost the token nor delay the callers.
        this.#checkAfterRefresh(provider, userId, link.oauth_access_token).catch((err: unknown) =>
          this.#deps.logger.warn(
            { provider: provider.id, err: (err as Error).message },
            'post-refresh check failed',
          ),
        );
      }
      return link;
    } catch (err) {
      if (!(err instanceof LockTimeoutError)) throw err;
      // Another replica held the link for longer than we wait. Its work may have landed.
      const link = await table.read(this.#deps.storeOn(this.#deps.db), userId, provider.id);
      if (link && isUnexpired(link, this.#deps.clock())) return link;
      throw vaultErrors.upstreamUnavailable(provider.id, 'lock_timeout');
    }
  }

  async #refreshHoldingLock<L extends RefreshableLink>(
    table: LinkTable<L>,
    provider: UpstreamProvider,
    userId: string,
    store: DataStore,
  ): Promise<{ link: L; refreshed: boolean }> {
    const link = await table.read(store, userId, provider.id);
    if (!link) throw vaultErrors.notLinked(provider.id);
    // Rule 1/2: whoever held the lock before us may have refreshed already.
    if (isFresh(link, this.#deps.clock(), this.#deps.refreshAheadMs)) {
      this.#count(provider, 'waited');
      return { link, refreshed: false };
    }
    const old = link.oauth_refresh_token;
    if (old === '' || provider.noRefresh)
      return { link: this.#unrefreshable(provider, link), refreshed: false };

    const result = await this.#callWithRetries(provider, old);
    if (result.ok) {
      // Rule 4: save first. Nothing may come between the provider's answer and this write.
      const tokens = toLinkTokens(result.tokens, this.#deps.clock(), old);
      const saved = await table.save(store, userId, provider.id, old, tokens);
      this.#outcome(provider, userId, saved ? 'refreshed' : 'superseded');
      // Rule 3: if the row moved under us (a re-link), what is there now wins.
      const now = await table.read(store, userId, provider.id);
      if (!now) throw vaultErrors.notLinked(provider.id);
      // What won may be no token at all (`dbcrypt delete` cleared the link meanwhile).
      if (!isUnexpired(now, this.#deps.clock())) {
        throw vaultErrors.relinkRequired(provider.id, now.oauth_refresh_failure_reason || 'expired');
      }
      // Once the lock is released (so waiters are not held up by it), the new token is
      // checked with the provider; see #refreshLocked.
      return { link: now, refreshed: true };
    }

    const failure = result.failure;
    if (failure.kind === 'permanent') {
      // Rule 5: a winner elsewhere may have spent our token; its result is in the row.
      const current = await table.read(store, userId, provider.id);
      if (current && current.oauth_refresh_token !== old && current.oauth_refresh_token !== '') {
        this.#outcome(provider, userId, 'superseded');
        return { link: current, refreshed: false };
      }
      // Rule 6.
      await table.fail(store, userId, provider.id, old, failure.reason);
      this.#outcome(provider, userId, 'permanent', failure.reason);
      throw vaultErrors.relinkRequired(provider.id, failure.reason);
    }
    // Transient or unusable answer: record nothing, and keep serving a token that still works.
    this.#outcome(provider, userId, failure.kind, failure.reason);
    if (isUnexpired(link, this.#deps.clock())) return { link, refreshed: false };
    if (failure.kind === 'error') throw vaultErrors.upstreamError(provider.id, failure.reason);
    throw vaultErrors.upstreamUnavailable(provider.id, failure.reason);
  }

  /** One log line and one count per refresh attempt: user, provider, outcome — never a token. */
  #outcome(provider: UpstreamProvider, userId: string, outcome: string, reason?: string): void {
    this.#count(provider, outcome);
    const fields = { provider: provider.id, user_id: userId, outcome, ...(reason ? { reason } : {}) };
    if (outcome === 'refreshed' || outcome === 'superseded') {
      this.#deps.logger.info(fields, 'external-auth refresh');
    } else {
      this.#deps.logger.warn(fields, 'external-auth refresh failed');
    }
  }

  async #checkAfterRefresh(provider: UpstreamProvider, userId: string, accessToken: string): Promise<void> {
    if (provider.validateUrl === undefined) return;
    const check = await validateToken(provider, accessToken, {
      timeoutMs: this.#timing.upstreamTimeoutMs,
      fetch: this.#deps.fetch,
    });
    if (check.state === 'valid') {
      if (check.rateLimited) this.#deps.rateLimitWarnings?.note(provider.id);
      return;
    }
    this.#deps.logger.warn(
      { provider: provider.id, user_id: userId, validation: check.state, reason: check.reason },
      'a freshly refreshed token did not validate; kept it',
    );
  }

  #unrefreshable<L extends RefreshableLink>(provider: UpstreamProvider, link: L): L {
    if (isUnexpired(link, this.#deps.clock())) return link;
    const reason = link.oauth_refresh_failure_reason || (provider.noRefresh ? 'refresh_disabled' : 'expired');
    throw vaultErrors.relinkRequired(provider.id, reason);
  }

  async #callWithRetries(provider: UpstreamProvider, refreshToken: string): Promise<TokenResult> {
    const t = this.#timing;
    const started = Date.now();
    const random = this.#deps.random ?? Math.random;
    for (let attempt = 1; ; attempt++) {
      const result = await requestToken(
        provider,
        // Scopes go along when configured (Microsoft Entra wants them on every refresh).
        provider.scopes.length > 0
          ? { grant_type: 'refresh_token', refresh_token: refreshToken, scope: provider.scopes.join(' ') }
          : { grant_type: 'refresh_token', refresh_token: refreshToken },
        { timeoutMs: t.upstreamTimeoutMs, fetch: this.#deps.fetch },
      );
      if (result.ok || result.failure.kind !== 'transient' || attempt >= t.maxAttempts) return result;
      const backoff = random() * t.retryBaseMs * 2 ** (attempt - 1);
      const delay = Math.max(backoff, result.failure.retryAfterMs ?? 0);
      if (Date.now() - started + delay > t.retryBudgetMs) return result;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  #count(provider: UpstreamProvider, outcome: string): void {
    this.#deps.metrics?.externalAuthRefreshes.inc({ provider: provider.id, outcome });
  }
}

/** At most `limit` refreshes at once; the rest queue in order. */
class Semaphore {
  #free: number;
  readonly #queue: Array<() => void> = [];
  constructor(limit: number) {
    this.#free = Math.max(1, limit);
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#queue.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.#queue.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
