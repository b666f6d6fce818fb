import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { DataStore, ExternalAuthLink, TokenExtra } from '../db/index.ts';
import { VaultError, vaultErrors } from './errors.ts';
import { isFresh, isUnexpired } from './freshness.ts';
import type { Refresher } from './refresh.ts';
import type { ProviderInfo, ProviderRegistry } from './registry.ts';
import { revokeToken } from './revoke.ts';
import { type RateLimitWarnings, validateToken } from './validate.ts';

/** What an agent receives (EA-9). */
export interface FreshToken {
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  readonly expiresAt: Date | null;
  readonly extra: TokenExtra;
}

/** A provider as one user sees it: configured, linked or not, and why a link is broken. */
export interface LinkState {
  readonly provider: ProviderInfo;
  readonly linked: boolean;
  readonly expiresAt: Date | null;
  /** A recorded permanent refresh failure: the user must link again. '' when none. */
  readonly failureReason: string;
  readonly linkedAt: Date | null;
  /** Who the user is upstream (untrusted text from the provider); '' when unknown or not linked. */
  readonly upstreamLogin: string;
}

/** Notifications that a user linked a provider, so long-polling callers wake at once. */
export interface LinkEvents {
  /** Resolves once subscribed; the returned function unsubscribes. */
  onLinked(userId: string, providerId: string, listener: () => void): Promise<() => Promise<void>>;
  linked(userId: string, providerId: string): Promise<void>;
}

export interface VaultDeps {
  readonly registry: ProviderRegistry;
  readonly refresher: Refresher;
  readonly events: LinkEvents;
  readonly clock: () => Date;
  readonly logger: Logger;
  readonly refreshAheadMs: number;
  readonly upstreamTimeoutMs?: number;
  readonly fetch?: typeof fetch | undefined;
  readonly rateLimitWarnings?: RateLimitWarnings | undefined;
}

// How long a "this non-expiring token works" answer from the provider is trusted. Checking
// on every call would spend the user's upstream rate limit on our own bookkeeping.
const VALIDATION_TTL_MS = 60_000;
const VALIDATION_CACHE_MAX = 10_000;

/** The token vault: hands callers fresh upstream tokens for users who linked a provider. */
export class Vault {
  readonly #deps: VaultDeps;
  readonly #validated = new Map<string, number>();

  constructor(deps: VaultDeps) {
    this.#deps = deps;
  }

  get registry(): ProviderRegistry {
    return this.#deps.registry;
  }

  /**
   * A fresh access token for `userId` at `providerId`, read through the caller's store (so
   * the caller must be allowed to read that link) and refreshed if it is due.
   */
  async token(store: DataStore, userId: string, providerId: string): Promise<FreshToken> {
    const provider = await this.#provider(providerId);
    const link = await store.getExternalAuthLink({ userId, providerId });
    if (!link) throw vaultErrors.notLinked(providerId);
    const now = this.#deps.clock();
    if (isFresh(link, now, this.#deps.refreshAheadMs)) {
      if (link.oauth_expiry === null) await this.#checkStillValid(provider, link);
      return fresh(link);
    }
    if (
      link.oauth_refresh_token === '' &&
      link.oauth_refresh_failure_reason !== '' &&
      !isUnexpired(link, now)
    ) {
      // Failed for good earlier: answer here, without the provider (EA-6).
      throw vaultErrors.relinkRequired(providerId, link.oauth_refresh_failure_reason);
    }
    return fresh(await this.#deps.refresher.refresh(provider, userId));
  }

  /**
   * Like token(), but when the user has not linked yet, waits until they do (or until
   * `timeoutMs` passes or `signal` aborts, then rejects with not_linked).
   */
  async waitForToken(
    store: DataStore,
    userId: string,
    providerId: string,
    options: { readonly timeoutMs: number; readonly signal?: AbortSignal },
  ): Promise<FreshToken> {
    await this.#provider(providerId);
    let wake: () => void = () => {};
    let woken = new Promise<void>((resolve) => {
      wake = resolve;
    });
    // Subscribe before the first look, so a link made in between is not missed.
    const unsubscribe = await this.#deps.events.onLinked(userId, providerId, () => wake());
    const deadline = Date.now() + options.timeoutMs;
    try {
      for (;;) {
        try {
          return await this.token(store, userId, providerId);
        } catch (err) {
          if (!(err instanceof VaultError) || err.code !== 'not_linked') throw err;
        }
        const left = deadline - Date.now();
        if (left <= 0 || options.signal?.aborted) throw vaultErrors.notLinked(providerId);
        await raceTimeout(woken, left, options.signal);
        woken = new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      await unsubscribe();
    }
  }

  async list(store: DataStore, userId: string): Promise<LinkState[]> {
    const links = new Map(
      (await store.listExternalAuthLinksOfUser({ userId })).map((l) => [l.provider_id, l]),
    );
    return this.#deps.registry.list().map((provider) => {
      const link = links.get(provider.id);
      return {
        provider,
        linked: link !== undefined,
        expiresAt: link?.oauth_expiry ?? null,
        failureReason: link?.oauth_refresh_failure_reason ?? '',
        linkedAt: link?.created_at ?? null,
        upstreamLogin: link?.upstream_login ?? '',
      };
    });
  }

  /**
   * Forgets the link, then asks the provider to revoke its token. Revocation is best
   * effort: its failure is logged and never undoes or blocks the unlink.
   */
  async unlink(store: DataStore, userId: string, providerId: string): Promise<void> {
    const provider = await this.#deps.registry.get(providerId);
    const removed = await store.deleteExternalAuthLink({ userId, providerId });
    if (!removed) throw vaultErrors.notLinked(providerId);
    if (!provider) return;
    const outcome = await revokeToken(provider, removed, {
      timeoutMs: this.#deps.upstreamTimeoutMs ?? 10_000,
      fetch: this.#deps.fetch,
    });
    if (outcome !== 'revoked' && outcome !== 'unsupported') {
      this.#deps.logger.warn(
        { provider: providerId, user_id: userId, reason: outcome },
        'upstream token revocation failed; the link is removed anyway',
      );
    }
  }

  async #provider(providerId: string) {
    const provider = await this.#deps.registry.get(providerId);
    if (!provider) throw vaultErrors.providerNotFound(providerId);
    return provider;
  }

  async #checkStillValid(
    provider: Parameters<typeof validateToken>[0],
    link: ExternalAuthLink,
  ): Promise<void> {
    if (provider.validateUrl === undefined) return;
    const key = createHash('sha256').update(link.oauth_access_token).digest('base64url');
    const until = this.#validated.get(key);
    if (until !== undefined && until > Date.now()) return;
    const result = await validateToken(provider, link.oauth_access_token, {
      timeoutMs: this.#deps.upstreamTimeoutMs ?? 5_000,
      fetch: this.#deps.fetch,
    });
    if (result.state === 'invalid') {
      this.#validated.delete(key);
      throw vaultErrors.relinkRequired(provider.id, `invalid_token (${result.reason})`);
    }
    // An error is not "invalid": hand the token out, and ask again next time.
    if (result.state === 'error') return;
    if (result.rateLimited) this.#deps.rateLimitWarnings?.note(provider.id);
    if (this.#validated.size >= VALIDATION_CACHE_MAX) this.#validated.clear();
    this.#validated.set(key, Date.now() + VALIDATION_TTL_MS);
  }
}

function fresh(link: ExternalAuthLink): FreshToken {
  return {
    accessToken: link.oauth_access_token,
    tokenType: 'Bearer',
    expiresAt: link.oauth_expiry,
    extra: link.oauth_extra,
  };
}

function raceTimeout(promise: Promise<void>, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    promise.then(done, done);
  });
}
